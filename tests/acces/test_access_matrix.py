"""The access matrix of issue « contrôle des accès »: every route of the citizen's space and of the professionals'
portal, for each actor, in one table of expected answers.

Actors: the citizen (owner of the data), another citizen, a professional without access, a blocked professional
(in the care team and with a code), a professional whose code expired, a professional with a code for another part
(measures only), a professional whose emergency access expired, and the médecin traitant (every allowed cell).
Only the allowed cells succeed; another person's objects answer 404; no page leaks a hidden document.
"""

import re
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from agenda.models import Event, PreventionDate, PreventionStatus, Task
from agenda.services import event_create, task_create
from dossier.models import Immunization, Measure, ProfileEntry
from dossier.services.documents import document_add
from dossier.services.exports import export_request
from dossier.services.measures import measure_record
from dossier.services.profile import immunization_record, profile_entry_add
from mes.acces.models import CareTeamMember, EmergencyAccess, Pairing, ProfessionalBlock, Scope
from mes.acces.policy import citizen_access
from mes.acces.services.delegations import delegation_create, delegation_redeem
from mes.comptes.models import Notification
from messagerie.models import Message
from tests.api.conftest import make_application, pair
from tests.catalogue.helpers import make_service
from tests.dossier.documents_samples import pdf_bytes, upload
from tests.factories import ProfessionalFactory
from tests.messagerie.inbox_support import make_message, make_thread
from tests.test_permission_matrix import iter_routes

HIDDEN_TITLE = "Suivi psychologique confidentiel"
VISIBLE_TITLE = "Compte rendu de cardiologie"

PRO_PORTAL = ("pro/", "pro/code/", "pro/urgence/")
ACTORS = [
    "citizen",
    "other_citizen",
    "pro_none",
    "pro_blocked",
    "pro_code_expired",
    "pro_code_measures_only",
    "emergency_expired",
    "treating_doctor",
]
# Parameters that name one of Camille's objects (``kind`` and ``section`` name a part of any space, a date an agenda
# page of any space).
OBJECT_PARAMETERS = r"<(uuid|int):(?!year>|month>|day>)"
# Pro pages a code for the measures opens (the rest of the space stays closed to it).
MEASURE_PAGES = {"pro_patient", "pro_measures", "pro_measure_detail"}


def _routes():
    """Every route open to citizens or professionals, and the notification centre (any signed-in account)."""
    routes = []
    for route, pattern in iter_routes():
        roles = getattr(pattern.callback, "allowed_roles", None) or ()
        if (
            pattern.name == "citizen_home"
            or "citizen" in roles
            or "professional" in roles
            or route.startswith("notifications/")
        ):
            routes.append((route, pattern.name))
    return routes


ROUTES = _routes()


@pytest.fixture
def world(citizen, other_citizen, django_capture_on_commit_callbacks):
    """Camille's space with one of everything, and the professionals around it."""
    own = citizen_access(citizen.user, citizen)
    now = timezone.now()
    treating = ProfessionalFactory(user__first_name="Sophie", user__last_name="Traitante").user
    CareTeamMember.objects.create(citizen=citizen, professional=treating, is_treating_doctor=True)
    document = document_add(
        access=own, upload=upload(pdf_bytes()), title=VISIBLE_TITLE, type_code="11488-4", act_date=now.date()
    )
    hidden = document_add(
        access=own, upload=upload(pdf_bytes()), title=HIDDEN_TITLE, type_code="11488-4", act_date=now.date(),
        hidden=True,
    )  # fmt: skip
    measure = measure_record(
        access=own, kind="poids", effective_at=now - timedelta(days=1), value=Decimal(70), source_label="Saisie"
    )
    entry = profile_entry_add(access=own, section="allergies", label="Pénicilline")
    immunization = immunization_record(access=own, vaccine_code="J07BB02", occurrence_date=now.date())
    with django_capture_on_commit_callbacks(execute=False):
        export = export_request(access=own)
    event = event_create(
        access=own, title="Consultation de cardiologie", starts_at=now + timedelta(days=3), rrule="FREQ=WEEKLY;COUNT=3",
        reminder_minutes=60,
    )  # fmt: skip
    task = task_create(access=own, title="Renouveler l’ordonnance", due_date=now.date())
    service = make_service(screenshots=1)
    pairing = pair(citizen, make_application(name="Carnet de tension"))
    prevention = PreventionDate.objects.create(
        citizen=citizen, programme="rappel-dtp", occurrence="45", due_from=now.date(), table_version="test"
    )

    pros = {"pro_none": ProfessionalFactory().user, "treating_doctor": treating}
    blocked = ProfessionalFactory().user
    CareTeamMember.objects.create(citizen=citizen, professional=blocked)
    _delegation, code = delegation_create(access=own, scopes=list(Scope.values), duration=timedelta(days=2))
    delegation_redeem(professional=blocked, code=code)
    block = ProfessionalBlock.objects.create(citizen=citizen, professional=blocked)
    pros["pro_blocked"] = blocked
    expired = ProfessionalFactory().user
    _delegation, code = delegation_create(
        access=own, scopes=list(Scope.values), duration=timedelta(hours=1), now=now - timedelta(hours=2)
    )
    delegation_redeem(professional=expired, code=code, now=now - timedelta(hours=2))
    pros["pro_code_expired"] = expired
    measures_only = ProfessionalFactory().user
    delegation, code = delegation_create(access=own, scopes=[Scope.MEASURES], duration=timedelta(days=1))
    delegation_redeem(professional=measures_only, code=code)
    pros["pro_code_measures_only"] = measures_only
    urgentist = ProfessionalFactory(emergency_role=True).user
    EmergencyAccess.objects.create(
        citizen=citizen, professional=urgentist, reason="Malaise, patiente inconsciente", expires_at=now
    )
    pros["emergency_expired"] = urgentist
    member = CareTeamMember.objects.get(citizen=citizen, professional=treating)
    conversation = make_thread(citizen, attachments=1)
    message = conversation.messages.get()
    # The citizen's reply that the mail server refused: what « Réessayer l’envoi » (messagerie_resend) applies to.
    failed = make_message(conversation, direction="sortant", body_text="Merci, docteur.")
    Message.objects.filter(pk=failed.pk).update(delivery_status="echec", delivery_error="550 5.1.1 inconnu")
    notification = Notification.objects.filter(user=citizen.user).first()
    assert notification is not None  # the uses of the codes notified Camille
    users = {"citizen": citizen.user, "other_citizen": other_citizen.user, **pros}
    objects = {
        "document": document,
        "hidden": hidden,
        "measure": measure,
        "entry": entry,
        "immunization": immunization,
        "export": export,
        "event": event,
        "task": task,
        "prevention": prevention,
        "service": service,
        "pairing": pairing,
        "member": member,
        "delegation": delegation,
        "block": block,
        "blocked": blocked,
        "notification": notification,
        "conversation": conversation,
        "message": message,
        "attachment": message.attachments.get(),
        "failed_message": failed,
    }
    return citizen, users, objects


def _kwargs(name: str, route: str, citizen, objects) -> dict:
    """Fill the route's parameters with Camille's objects (a new kind of parameter must be added here)."""
    by_name = {
        "citizen_id": citizen.public_id,
        "document_id": objects["document"].public_id,
        "kind": "poids",
        "section": "allergies",
        "member_id": objects["member"].pk,
        "delegation_id": objects["delegation"].public_id,
        "professional_id": objects["blocked"].pk,
        "block_id": objects["block"].pk,
        "notification_id": objects["notification"].pk,
        "event_id": objects["event"].public_id,
        "task_id": objects["task"].public_id,
        "date_id": objects["prevention"].public_id,
        "slug": objects["service"].slug,
        "pairing_id": objects["pairing"].public_id,
        "image": objects["service"].logo_key,
        "conversation_id": objects["conversation"].public_id,
        # A received message, but for « Réessayer l’envoi »: the citizen's own message whose delivery failed.
        "message_id": objects["failed_message" if name == "messagerie_resend" else "message"].public_id,
        "attachment_id": objects["attachment"].public_id,
        "year": 2026,
        "month": 11,
        "day": 22,
    }
    public_ids = {
        "document": objects["document"],
        "measure": objects["measure"],
        "immunization": objects["immunization"],
        "profile_entry": objects["entry"],
        "export": objects["export"],
    }
    kwargs = {}
    for param in re.findall(r"<(?:\w+:)?(\w+)>", route):
        if param == "public_id":
            owner = next(obj for prefix, obj in public_ids.items() if name.startswith(prefix))
            kwargs[param] = owner.public_id
        elif param in by_name:
            kwargs[param] = by_name[param]
        else:  # pragma: no cover - a new parameter: classify it above
            pytest.fail(f"Paramètre inconnu dans la matrice : {param} ({route})")
    return kwargs


def _expected(name: str, route: str, actor: str) -> set[int]:
    """The answers allowed for one cell of the matrix."""
    citizen_actor = actor in ("citizen", "other_citizen")
    if route.startswith("notifications/"):
        if "<" in route:  # Camille's notification
            return {200, 302, 405} if actor == "citizen" else {404, 405}
        return {200, 302, 405}
    if route.startswith("pro/patients/"):
        if citizen_actor:
            return {403}
        if actor == "treating_doctor":
            return {200}
        if actor == "pro_code_measures_only" and name in MEASURE_PAGES:
            return {200}
        return {404}
    if route == "pro/urgence/":  # only for a professional with the emergency role
        return {200} if actor == "emergency_expired" else {403}
    if route in PRO_PORTAL:
        return {403} if citizen_actor else {200}
    # The citizen's side.
    if not citizen_actor:
        return {403}
    if actor == "citizen":
        return {200, 302, 405}
    # Another citizen: Camille's objects do not exist for them; pages without an object show their own space.
    return {404, 405} if re.search(OBJECT_PARAMETERS, route) else {200, 302, 405}


def _request_data(name: str, objects) -> dict:
    """What a route needs besides its URL: the occurrence of a series, the state a task is set to."""
    if name == "event_occurrence_delete":
        start = objects["event"].starts_at
        return {"occurrence": start.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")}
    if name == "task_toggle":
        return {"done": "1"}
    return {}


CELLS = [(route, name, actor) for route, name in ROUTES for actor in ACTORS]


def test_the_matrix_covers_every_route_of_both_sides():
    names = {name for _route, name in ROUTES}
    assert {"pro_document_content", "access_code_end", "document_file", "access_history_export"} <= names
    assert {"access_apps", "access_app_disconnect"} <= names
    assert len(CELLS) == len(ROUTES) * len(ACTORS)


@pytest.mark.parametrize(("route", "name", "actor"), CELLS, ids=[f"{n}-{a}" for _r, n, a in CELLS])
def test_access_matrix(client, world, route, name, actor):
    citizen, users, objects = world
    path = reverse(name, kwargs=_kwargs(name, route, citizen, objects))
    client.force_login(users[actor])
    expected = _expected(name, route, actor)
    data = _request_data(name, objects)
    response = client.get(path, data)
    if response.status_code == 405:
        # A route that only takes POST: the POST obeys the same matrix (a refused one changes nothing, see below).
        response = client.post(path, data)
        expected = (expected - {405}) | ({302} if 200 in expected else set())
    assert response.status_code in expected, (actor, path, response.status_code)
    if response.status_code == 200 and not getattr(response, "streaming", False):
        body = response.content.decode(errors="replace")
        if actor != "citizen" and actor != "treating_doctor":
            assert HIDDEN_TITLE not in body, (actor, path)
        if actor in ("other_citizen", "pro_code_measures_only", "pro_none"):
            assert VISIBLE_TITLE not in body, (actor, path)


def test_refused_posts_change_nothing(client, world):
    _citizen, users, objects = world
    client.force_login(users["other_citizen"])
    for name, kwargs in (
        ("access_code_end", {"delegation_id": objects["delegation"].public_id}),
        ("access_unblock", {"block_id": objects["block"].pk}),
        ("access_care_team_remove", {"member_id": objects["member"].pk}),
        ("document_delete", {"public_id": objects["document"].public_id}),
        ("document_hide", {"public_id": objects["document"].public_id}),
        ("measure_delete", {"kind": "poids", "public_id": objects["measure"].public_id}),
        ("profile_entry_delete", {"public_id": objects["entry"].public_id}),
        ("immunization_delete", {"public_id": objects["immunization"].public_id}),
        ("event_delete", {"event_id": objects["event"].public_id}),
        ("event_edit", {"event_id": objects["event"].public_id}),
        ("task_toggle", {"task_id": objects["task"].public_id}),
        ("task_delete", {"task_id": objects["task"].public_id}),
        ("prevention_done", {"date_id": objects["prevention"].public_id}),
        ("prevention_dismiss", {"date_id": objects["prevention"].public_id}),
        ("access_app_disconnect", {"pairing_id": objects["pairing"].public_id}),
    ):
        assert client.post(reverse(name, kwargs=kwargs)).status_code == 404, name
    objects["delegation"].refresh_from_db()
    assert objects["delegation"].ended_at is None
    assert ProfessionalBlock.objects.filter(pk=objects["block"].pk).exists()
    assert CareTeamMember.objects.filter(pk=objects["member"].pk).exists()
    assert Measure.objects.filter(pk=objects["measure"].pk).exists()
    assert ProfileEntry.objects.filter(pk=objects["entry"].pk).exists()
    assert Immunization.objects.filter(pk=objects["immunization"].pk).exists()
    objects["document"].refresh_from_db()
    assert not objects["document"].hidden_from_professionals
    assert Event.objects.filter(pk=objects["event"].pk, title="Consultation de cardiologie").exists()
    assert Task.objects.filter(pk=objects["task"].pk, done_at__isnull=True).exists()
    assert PreventionDate.objects.filter(pk=objects["prevention"].pk, status=PreventionStatus.PENDING).exists()
    assert Pairing.objects.filter(pk=objects["pairing"].pk, revoked_at__isnull=True).exists()


def test_no_count_leaks_a_hidden_document(client, world):
    """A professional of the care team (not the médecin traitant) sees 1 document, the médecin traitant 2."""
    citizen, users, _objects = world
    member = ProfessionalFactory().user
    CareTeamMember.objects.create(citizen=citizen, professional=member)
    for user, count in ((member, 1), (users["treating_doctor"], 2)):
        access = citizen_access(user, citizen)
        from dossier.selectors.overview import dossier_overview

        assert dossier_overview(access).documents == count
        client.force_login(user)
        body = client.get(reverse("pro_documents", kwargs={"citizen_id": citizen.public_id})).content.decode()
        assert (HIDDEN_TITLE in body) == (count == 2)
        searched = client.get(
            reverse("pro_documents", kwargs={"citizen_id": citizen.public_id}), {"q": "psychologique"}
        ).content.decode()
        assert (HIDDEN_TITLE in searched) == (count == 2)
