"""The notification centre (each account sees and marks its own only), the header's unread count, and the alert
sent to administrators when the journal's chain breaks."""

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mes.acces.services import journal_append, journal_verify_and_record
from mes.comptes.models import Notification
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/notifications/"
MARK_ALL_URL = "/notifications/tout-marquer-comme-lu/"
ROLES = ["citizen", "professional", "editor", "commission", "admin"]


def _notify(user, title="Un professionnel a utilisé votre code d’accès", link="/acces/", **kwargs) -> Notification:
    return Notification.objects.create(user=user, title=title, body=f"Message : {title}", link=link, **kwargs)


def _mark_url(notification: Notification) -> str:
    return reverse("notification_mark_read", args=[notification.pk])


# --- Authorization -----------------------------------------------------------------------------------------------


def test_routes_are_named_as_other_pages_link_to_them():
    assert reverse("notifications") == URL
    assert reverse("notifications_mark_read") == MARK_ALL_URL


@pytest.mark.parametrize("method", ["get", "post"])
def test_visitors_are_asked_to_sign_in(client, citizen, method):
    notification = _notify(citizen.user)
    for url in (URL, MARK_ALL_URL, _mark_url(notification)):
        if method == "get" and url == _mark_url(notification):
            continue  # marking is a POST only
        response = getattr(client, method)(url)
        assert response.status_code == (405 if (method == "post" and url == URL) else 302), url
        if response.status_code == 302:
            assert response["Location"].startswith(reverse("account_login"))
    assert Notification.objects.get(pk=notification.pk).read_at is None


@pytest.mark.parametrize("role", ROLES)
def test_every_role_has_its_notification_centre(client, persona_users, role):
    user = persona_users[role]
    _notify(user, title=f"Message pour {role}")
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 200
    assert f"Message pour {role}" in response.content.decode()
    assert client.get(MARK_ALL_URL).status_code == 200


def test_marking_one_notification_is_a_post(client, citizen):
    notification = _notify(citizen.user)
    client.force_login(citizen.user)
    assert client.get(_mark_url(notification)).status_code == 405
    assert Notification.objects.get(pk=notification.pk).read_at is None


# --- Isolation ---------------------------------------------------------------------------------------------------


def test_an_account_sees_only_its_own_notifications(client, citizen, other_citizen):
    _notify(citizen.user, title="Pour Camille")
    _notify(other_citizen.user, title="Pour Bruno")
    client.force_login(citizen.user)
    page = client.get(URL).content.decode()
    assert "Pour Camille" in page and "Pour Bruno" not in page


def test_another_accounts_notification_answers_404_and_stays_unread(client, citizen, other_citizen):
    theirs = _notify(other_citizen.user)
    client.force_login(citizen.user)
    assert client.post(_mark_url(theirs)).status_code == 404
    assert client.post(reverse("notification_mark_read", args=[theirs.pk + 1000])).status_code == 404
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_marking_all_marks_only_the_accounts_own(client, citizen, other_citizen):
    mine = [_notify(citizen.user, title=f"n°{n}") for n in range(3)]
    theirs = _notify(other_citizen.user)
    client.force_login(citizen.user)
    confirm = client.get(MARK_ALL_URL).content.decode()
    assert "Vous avez 3 notifications non lues." in confirm
    response = client.post(MARK_ALL_URL, follow=True)
    assert response.redirect_chain == [(URL, 302)]
    assert "3 notifications marquées comme lues." in response.content.decode()
    assert all(Notification.objects.get(pk=n.pk).read_at is not None for n in mine)
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    again = client.post(MARK_ALL_URL, follow=True).content.decode()
    assert "Vous n’aviez aucune notification non lue." in again


# --- The page ----------------------------------------------------------------------------------------------------


def test_the_page_lists_newest_first_and_opening_it_marks_nothing(client, citizen):
    _notify(citizen.user, title="Plus ancienne")
    _notify(citizen.user, title="Plus récente", link="/historique/")
    client.force_login(citizen.user)
    page = client.get(URL).content.decode()
    assert page.index("Plus récente") < page.index("Plus ancienne")
    assert page.count(">Non lue<") == 2
    assert 'href="/historique/"' in page and "Voir<span" in page
    assert "Tout marquer comme lu" in page
    assert Notification.objects.filter(user=citizen.user, read_at__isnull=True).count() == 2


def test_marking_one_notification_as_read(client, citizen):
    first = _notify(citizen.user, title="Première")
    second = _notify(citizen.user, title="Seconde")
    client.force_login(citizen.user)
    response = client.post(_mark_url(first), follow=True)
    assert response.redirect_chain == [(URL, 302)]
    assert "Notification « Première » marquée comme lue." in response.content.decode()
    assert Notification.objects.get(pk=first.pk).read_at is not None
    assert Notification.objects.get(pk=second.pk).read_at is None
    assert response.content.decode().count(">Non lue<") == 1


def test_only_links_inside_the_site_are_offered(client, citizen):
    _notify(citizen.user, title="Lien externe", link="https://pirate.example/")
    _notify(citizen.user, title="Lien sans schéma", link="//pirate.example/")
    client.force_login(citizen.user)
    page = client.get(URL).content.decode()
    assert "pirate.example" not in page


def test_notifications_are_paginated(client, citizen):
    for number in range(25):
        _notify(citizen.user, title=f"Notification {number:02d}")
    client.force_login(citizen.user)
    first = client.get(URL).content.decode()
    assert "Notification 24" in first and "Notification 05" in first and "Notification 04" not in first
    older = Notification.objects.get(title="Notification 05").pk
    assert f'href="?avant={older}"' in first
    second = client.get(URL, {"avant": older}).content.decode()
    assert "Notification 04" in second and "Notification 00" in second and "Notification 05" not in second
    assert "Notifications les plus récentes" in second


# --- The header ----------------------------------------------------------------------------------------------------


def test_the_header_shows_the_unread_count_with_an_accessible_label(client, citizen):
    _notify(citizen.user)
    _notify(citizen.user)
    _notify(citizen.user, read_at="2025-01-01T00:00:00+00:00")
    client.force_login(citizen.user)
    page = client.get("/").content.decode()
    assert page.count(f'href="{URL}"') == 2  # header tools, and the mobile menu
    assert '<span aria-hidden="true">&nbsp;(2)</span>' in page
    assert "2 notifications non lues" in page


def test_the_header_link_without_unread_notifications(client, professional):
    client.force_login(professional.user)
    page = client.get(URL).content.decode()
    assert page.count(f'href="{URL}" aria-current="page">Notifications</a>') == 2
    assert "notifications non lues" not in page and "notification non lue" not in page


def test_the_header_counts_with_one_query_per_page(client, citizen):
    for _ in range(3):
        _notify(citizen.user)
    client.force_login(citizen.user)
    with CaptureQueriesContext(connection) as queries:
        client.get("/dossier/")
    notification_queries = [query["sql"] for query in queries if "comptes_notification" in query["sql"]]
    assert len(notification_queries) == 1
    assert notification_queries[0].startswith("SELECT COUNT(*)")
    assert '"read_at" IS NULL' in notification_queries[0]


def test_visitors_see_no_notification_link(client):
    assert f'href="{URL}"' not in client.get("/").content.decode()


def test_the_citizen_navigation_has_access_after_the_dossier(client, citizen):
    client.force_login(citizen.user)
    page = client.get("/historique/").content.decode()
    dossier, access = page.index(">Dossier médical</a>"), page.index(">Accès</a>")
    assert dossier < access
    # The history belongs to the « Accès » section.
    assert f'href="{reverse("access_settings")}" aria-current="page">Accès</a>' in page


# --- The alert when the journal's chain breaks -------------------------------------------------------------------


def _break_the_chain() -> int:
    """Alter a row behind the guard triggers, as an attacker with direct database access could."""
    entries = [journal_append(actor=None, action="test.evenement", details={"n": n}) for n in range(3)]
    target = entries[1].seq
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE acces_journalentry DISABLE TRIGGER USER")
        cursor.execute("UPDATE acces_journalentry SET details = '{\"n\": 99}' WHERE seq = %s", [target])
        cursor.execute("ALTER TABLE acces_journalentry ENABLE TRIGGER USER")
    return target


def test_a_broken_chain_alerts_every_administrator(django_capture_on_commit_callbacks, administrator, settings):
    settings.ADMINS = [("Exploitation", "exploitation@exemple.fr"), ("Doublon", administrator.email.upper())]
    other_admin = UserFactory(role="admin", first_name="Sam", email="sam@exemple.fr")
    UserFactory(role="admin", email="ancien@exemple.fr", is_active=False)
    citizen_user = UserFactory(role="citizen", email="usager@exemple.fr")
    target = _break_the_chain()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        report = journal_verify_and_record()
        assert mail.outbox == []  # nothing leaves before the commit

    assert (report.ok, report.first_broken_seq, report.reason) == (False, target, "altered-row")
    assert len(callbacks) == 3
    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        [administrator.email, other_admin.email, "exploitation@exemple.fr"]
    )
    for message in mail.outbox:
        assert message.subject == "Mon espace santé : intégrité du journal compromise"
        assert f"Première entrée en cause (numéro) : {target}" in message.body
        assert "une entrée a été modifiée (altered-row)" in message.body
    alerts = Notification.objects.filter(title="Mon espace santé : intégrité du journal compromise")
    assert sorted(alert.user_id for alert in alerts) == sorted([administrator.pk, other_admin.pk])
    assert not Notification.objects.filter(user=citizen_user).exists()
    assert all(alert.link == reverse("admin:acces_journalentry_changelist") for alert in alerts)


def test_the_administrator_reads_the_alert_in_the_notification_centre(client, administrator):
    _break_the_chain()
    journal_verify_and_record()
    client.force_login(administrator)
    page = client.get(URL).content.decode()
    assert "Mon espace santé : intégrité du journal compromise" in page
    assert "1 notification non lue" in page


def test_an_intact_chain_alerts_nobody(django_capture_on_commit_callbacks, administrator):
    journal_append(actor=None, action="test.evenement")
    with django_capture_on_commit_callbacks(execute=True):
        assert journal_verify_and_record().ok
    assert mail.outbox == []
    assert not Notification.objects.exists()


def test_a_refused_email_does_not_stop_the_other_alerts(django_capture_on_commit_callbacks, administrator, monkeypatch):
    second = UserFactory(role="admin", email="second@exemple.fr")
    _break_the_chain()
    sent = []

    def send(self, fail_silently=False):
        if self.to == [administrator.email]:
            raise OSError("serveur de courriel indisponible")
        sent.append(self.to)
        return 1

    monkeypatch.setattr("django.core.mail.EmailMessage.send", send)
    with django_capture_on_commit_callbacks(execute=True):
        journal_verify_and_record()
    assert sent == [[second.email]]
    assert Notification.objects.filter(user=administrator).count() == 1
