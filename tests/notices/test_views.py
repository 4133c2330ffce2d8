"""The bell, the inbox, preferences, and the admins' webhook pages."""
import pytest
from django.urls import reverse

from checklists.models import AuditEvent
from notices import services
from notices.models import Delivery, Notice, Preference, Webhook

pytestmark = pytest.mark.django_db


def _notice(user, key, title="Sign-off open: todo-app 1.0.0", url="/"):
    return Notice.objects.create(user=user, key=key, event="signoff.opened", title=title, url=url)


def test_the_bell_counts_unread_notices_and_answers_204_while_nothing_changes(client, people,
                                                                               django_assert_num_queries):
    alice = people["engineer"]
    _notice(alice, "a")
    _notice(alice, "b")
    _notice(people["approver"], "c")  # someone else's
    client.force_login(alice)
    first = client.get(reverse("notices:bell"))
    assert first.status_code == 200
    body = first.content.decode()
    assert 'aria-label="Notices: 2 unread"' in body and 'hx-trigger="every 20s"' in body
    cursor = body.split("since=")[1].split('"')[0]
    with django_assert_num_queries(4):  # session, user, newest notice, any read since (no page rendered)
        assert client.get(reverse("notices:bell"), {"since": cursor}).status_code == 204
    _notice(alice, "d")
    again = client.get(reverse("notices:bell"), {"since": cursor})
    assert again.status_code == 200 and "3 unread" in again.content.decode()
    assert client.get(reverse("notices:bell"), {"since": "soon"}).status_code == 400


def test_every_page_carries_the_bell_which_loads_after_the_page(client, people):
    client.force_login(people["engineer"])
    page = client.get(reverse("dashboard")).content.decode()
    assert f'hx-get="{reverse("notices:bell")}" hx-trigger="load"' in page


def test_the_inbox_lists_only_your_notices_and_marks_them_read(client, people):
    alice = people["engineer"]
    mine = _notice(alice, "a", title="Waiver granted: mine")
    theirs = _notice(people["approver"], "b", title="Waiver granted: theirs")
    client.force_login(alice)
    page = client.get(reverse("notices:inbox")).content.decode()
    assert "Waiver granted: mine" in page and "theirs" not in page
    # Marking someone else's notice changes nothing.
    client.post(reverse("notices:mark-read"), {"notice": theirs.pk})
    theirs.refresh_from_db()
    assert theirs.read_at is None
    response = client.post(reverse("notices:mark-read"), {"notice": mine.pk, "open": "1"})
    assert response.status_code == 302 and response["Location"] == "/"
    mine.refresh_from_db()
    assert mine.read_at is not None
    assert "Nothing unread" in client.get(reverse("notices:inbox")).content.decode()
    assert "Waiver granted: mine" in client.get(reverse("notices:inbox"), {"show": "all"}).content.decode()
    assert client.post(reverse("notices:mark-read"), {"notice": "x"}).status_code == 400
    assert client.get(reverse("notices:mark-read")).status_code == 405


def test_mark_all_read(client, people):
    alice = people["engineer"]
    for key in "abc":
        _notice(alice, key)
    client.force_login(alice)
    client.post(reverse("notices:mark-read"))
    assert not Notice.objects.filter(user=alice, read_at=None).exists()


def test_preferences_are_per_person_and_audited(client, people):
    alice = people["engineer"]
    client.force_login(alice)
    assert client.get(reverse("notices:preferences")).status_code == 200
    response = client.post(reverse("notices:preferences"), {"waiver_reminder_email": "on", "event_email": "on"})
    assert response.status_code == 302
    preference = Preference.objects.get(user=alice)
    assert (preference.digest_email, preference.waiver_reminder_email, preference.event_email) == (False, True, True)
    event = AuditEvent.objects.get(action="notices.preference.updated")
    assert event.before["digest_email"] is True and event.after["digest_email"] is False


def test_anonymous_users_go_to_login(client):
    for name in ("notices:inbox", "notices:bell", "notices:preferences", "notices:webhook-list"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize("who", ["manager", "engineer", "approver", "auditor", "nobody"])
def test_webhook_pages_are_for_admins_only(client, people, webhook, who):
    client.force_login(people[who])
    for url in (reverse("notices:webhook-list"), reverse("notices:webhook-create"),
                reverse("notices:webhook-detail", args=[webhook.pk])):
        assert client.get(url).status_code == 404
    assert client.post(reverse("notices:webhook-action", args=[webhook.pk]), {"action": "delete"}).status_code == 404
    assert Webhook.objects.filter(pk=webhook.pk).exists()


def test_an_admin_adds_a_webhook_sees_its_secret_once_tests_it_and_sees_the_outcome(client, people, seed_teams,
                                                                                    receiver, settings,
                                                                                    django_capture_on_commit_callbacks):
    from notices.delivery import delivery_attempt

    client.force_login(people["admin"])
    bad = client.post(reverse("notices:webhook-create"), {"team": seed_teams["platform"].pk, "name": "x",
                                                          "url": "ftp://example.com/hook", "format": "generic"})
    assert bad.status_code == 400 and "http" in bad.content.decode()
    response = client.post(reverse("notices:webhook-create"), {
        "team": seed_teams["platform"].pk, "name": "#platform", "url": receiver.url, "format": "slack",
        "events": ["signoff.opened", "release.drifted"]})
    assert response.status_code == 200
    webhook = Webhook.objects.get(name="#platform")
    assert services.crypto.decrypt(webhook.secret_encrypted, settings.READINESS_SECRETS_KEYS) in \
        response.content.decode()
    assert webhook.events == ["release.drifted", "signoff.opened"]
    created = AuditEvent.objects.get(action="notices.webhook.created")
    assert "secret" not in str(created.after)

    with django_capture_on_commit_callbacks():
        client.post(reverse("notices:webhook-action", args=[webhook.pk]), {"action": "test"})
    receiver.statuses = [500]
    delivery_attempt(delivery_id=Delivery.objects.get(webhook=webhook).pk)
    page = client.get(reverse("notices:webhook-detail", args=[webhook.pk])).content.decode()
    assert "webhook.test" in page and "Retrying" in page and "HTTP 500" in page
    assert client.post(reverse("notices:webhook-action", args=[webhook.pk]), {"action": "x"}).status_code == 400
    client.post(reverse("notices:webhook-action", args=[webhook.pk]), {"action": "pause"})
    webhook.refresh_from_db()
    assert not webhook.active
    client.post(reverse("notices:webhook-action", args=[webhook.pk]), {"action": "delete"})
    assert not Webhook.objects.exists()
    assert list(AuditEvent.objects.filter(action__startswith="notices.webhook").order_by("id")
                .values_list("action", flat=True)) == ["notices.webhook.created", "notices.webhook.tested",
                                                       "notices.webhook.updated", "notices.webhook.deleted"]
