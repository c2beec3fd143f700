"""The dossier's home: a summary of the space the account acts for, and nobody else's."""

from django.urls import reverse

from dossier.models import ProfileEntry
from mes.comptes.models import CitizenStatus
from mes.comptes.selectors.profiles import ACTIVE_PROFILE_SESSION_KEY


def test_the_citizen_sees_the_summary_of_their_own_dossier(client, citizen, other_citizen):
    ProfileEntry.objects.create(citizen=citizen, section="allergies", label="Pollen")
    ProfileEntry.objects.create(citizen=other_citizen, section="allergies", label="Arachide")
    ProfileEntry.objects.create(citizen=other_citizen, section="allergies", label="Lactose")
    client.force_login(citizen.user)

    page = client.get(reverse("dossier_home")).content.decode()

    assert "Mon dossier médical" in page
    assert "1 information" in page  # the other person's two entries are not counted
    assert "représentant légal" not in page


def test_a_parent_sees_the_childs_dossier_once_switched(client, citizen, child):
    ProfileEntry.objects.create(citizen=child, section="allergies", label="Pollen")
    ProfileEntry.objects.create(citizen=child, section="handicap", label="Surdité")
    client.force_login(citizen.user)
    session = client.session
    session[ACTIVE_PROFILE_SESSION_KEY] = str(child.public_id)
    session.save()

    page = client.get(reverse("dossier_home")).content.decode()

    assert "2 informations" in page
    assert "Dossier de Léa DURAND" in page and "représentant légal" in page


def test_a_space_that_was_opposed_or_closed_has_no_dossier(client, citizen):
    client.force_login(citizen.user)
    type(citizen).objects.filter(pk=citizen.pk).update(status=CitizenStatus.OPPOSED)
    assert client.get(reverse("dossier_home")).status_code == 403
