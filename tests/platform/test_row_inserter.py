"""``mes.db.RowInserter``: the prepared INSERT of the hot paths writes what ``Model.objects.create`` would."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.models.signals import post_save, pre_save
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dossier.models import Measure
from dossier.services import measures as measure_services
from mes.acces import services as journal_services
from mes.acces.models import JournalEntry
from mes.acces.services import journal_append
from mes.db import RowInserter

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "inserter", [journal_services._JOURNAL_INSERT, measure_services._MEASURE_INSERT], ids=["journal", "measure"]
)
def test_models_written_this_way_have_no_save_receivers(inserter):
    """RowInserter sends no model signal: a receiver added later on these models would silently never run."""
    for signal in (pre_save, post_save):
        assert not signal.has_listeners(inserter.model), (signal, inserter.model)


def test_journal_row_reads_back_as_the_orm_would_have_written_it(citizen):
    entry = journal_append(
        actor=citizen.user, action="dossier.mesure.ajoutee", citizen=citizen, obj=citizen, details={"kind": "poids"}
    )
    stored = JournalEntry.objects.get(pk=entry.seq)
    assert (stored.actor_id, stored.citizen_id, stored.action) == (citizen.user.pk, citizen.pk, entry.action)
    assert stored.object_type == "comptes.citizen" and stored.object_id == str(citizen.public_id)
    assert stored.details == {"kind": "poids"}
    # The database-computed columns come back into the instance.
    assert entry.created_at == stored.created_at and entry.xact == stored.xact
    assert entry._state.adding is False


def test_one_statement_and_the_values_of_every_field(citizen):
    row = Measure(
        citizen=citizen,
        kind="poids",
        effective_at=timezone.now(),
        value=Decimal("71.4"),
        unit="kg",
        source_kind="citizen",
        source_label="Saisie",
        resource={"resourceType": "Observation", "note": [{"text": "é"}]},
    )
    with CaptureQueriesContext(connection) as queries:
        RowInserter(Measure).insert(row)
    assert len(queries) == 1 and queries[0]["sql"].startswith('INSERT INTO "dossier_measure"')
    stored = Measure.objects.get(pk=row.pk)
    assert stored.public_id == row.public_id and stored.value == Decimal("71.4")
    assert stored.resource == {"resourceType": "Observation", "note": [{"text": "é"}]}
    # auto_now_add filled in by the field itself, as a save() would.
    assert stored.created_at == row.created_at is not None
