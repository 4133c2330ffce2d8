"""Teams and people in the browser: admins only (404 for everyone else), every change audited."""

import pytest
from django.urls import reverse

from checklists.models import AuditEvent, Membership, Role, Team
from checklists.services.items import item_assign
from checklists.signoff.services import approval_decide, signoff_open
from tests.factories import member

pytestmark = pytest.mark.django_db


def _pages(seed_teams, people):
    alice = people["engineer"]
    return {
        "get": [reverse("people:team-list"), reverse("people:team-create"),
                reverse("people:team-detail", args=["platform"]), reverse("people:user-list"),
                reverse("people:user-detail", args=[alice.pk]), reverse("people:group-mapping-list")],
        "post": [reverse("people:team-create"), reverse("people:membership-set", args=["platform"]),
                 reverse("people:membership-remove", args=["platform", alice.pk]),
                 reverse("people:user-deactivate", args=[alice.pk]),
                 reverse("people:user-reactivate", args=[alice.pk]),
                 reverse("people:user-reassign", args=[alice.pk])],
    }


def test_anonymous_is_sent_to_login(client, seed_teams, people):
    pages = _pages(seed_teams, people)
    for url in pages["get"] + pages["post"]:
        response = client.post(url) if url in pages["post"] else client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url


@pytest.mark.parametrize("who", ["manager", "engineer", "approver", "auditor", "nobody"])
def test_everyone_but_admins_gets_404_and_changes_nothing(client, seed_teams, people, who):
    client.force_login(people[who])
    pages = _pages(seed_teams, people)
    for url in pages["get"]:
        assert client.get(url).status_code == 404, url
    before = AuditEvent.objects.count()
    for url in pages["post"]:
        assert client.post(url, {"name": "X", "user": people["nobody"].pk, "role": "admin"}).status_code == 404, url
    assert AuditEvent.objects.count() == before
    assert people["engineer"].is_active and not Team.objects.filter(name="X").exists()


def test_wrong_methods_are_refused(client, people, seed_teams):
    client.force_login(people["admin"])
    assert client.get(reverse("people:membership-set", args=["platform"])).status_code == 405
    assert client.get(reverse("people:user-deactivate", args=[people["engineer"].pk])).status_code == 405
    assert client.post(reverse("people:team-list")).status_code == 405


def test_the_people_link_shows_for_admins_only(client, people):
    client.force_login(people["manager"])
    assert reverse("people:team-list") not in client.get(reverse("dashboard")).content.decode()
    client.force_login(people["admin"])
    assert reverse("people:team-list") in client.get(reverse("dashboard")).content.decode()


def test_an_admin_creates_a_team_adds_a_member_sets_a_role_and_removes_them(client, people, seed_teams):
    admin, nobody = people["admin"], people["nobody"]
    client.force_login(admin)
    response = client.post(reverse("people:team-create"), {"name": "Payments", "slug": ""})
    assert response.status_code == 302 and response["Location"] == reverse("people:team-detail", args=["payments"])
    team = Team.objects.get(slug="payments")
    assert client.post(reverse("people:team-create"), {"name": "payments"}).status_code == 400  # taken
    assert client.post(reverse("people:team-create"), {"name": ""}).status_code == 400

    url = reverse("people:membership-set", args=["payments"])
    assert client.post(url, {"user": nobody.pk, "role": Role.ENGINEER}).status_code == 302
    assert client.post(url, {"user": nobody.pk, "role": Role.APPROVER}).status_code == 302
    assert client.post(url, {"user": nobody.pk, "role": "overlord"}).status_code == 400
    membership = Membership.objects.get(team=team, user=nobody)
    assert (membership.role, membership.source) == (Role.APPROVER, "manual")
    page = client.get(reverse("people:team-detail", args=["payments"])).content.decode()
    assert "nobody" in page and "Set by an admin" in page

    assert client.post(reverse("people:membership-remove", args=["payments", nobody.pk])).status_code == 302
    assert not Membership.objects.filter(team=team, user=nobody).exists()
    trail = list(AuditEvent.objects.filter(actor=admin).order_by("id").values_list("action", "before", "after"))
    assert [action for action, _, _ in trail] == ["people.team.created", "people.membership.added",
                                                  "people.membership.role_set", "people.membership.removed"]
    assert trail[2][1]["role"] == Role.ENGINEER and trail[2][2]["role"] == Role.APPROVER
    assert trail[3][1] == {"user": "nobody", "team": "payments", "role": Role.APPROVER, "source": "manual"}


def test_deactivating_lists_open_assignments_for_reassignment_and_keeps_past_decisions(
        client, people, seed_teams, release):
    admin, alice, manager = people["admin"], people["engineer"], people["manager"]
    items = list(release.items.filter(owner_team__slug="platform").order_by("pk")[:3])
    for item in items:
        item_assign(item=item, assignee=alice, by=manager, expected_version=item.version)
    # A past decision of someone who then leaves.
    pat = member("pat", seed_teams["platform"], Role.APPROVER)
    release.items.update(status="done")
    signoff_open(release=release, by=manager)
    requirement = release.requirements.get(name="Platform")
    approval_decide(requirement=requirement, by=pat, decision="approved", comment="fine")

    client.force_login(admin)
    response = client.post(reverse("people:user-deactivate", args=[pat.pk]))
    assert response.status_code == 302
    pat.refresh_from_db()
    assert not pat.is_active
    decided = AuditEvent.objects.get(action="checklists.signoff.approved")
    assert (decided.actor_id, decided.actor_name) == (pat.pk, "pat")  # stays under their name
    assert client.post(reverse("people:user-deactivate", args=[pat.pk])).status_code == 302  # already: a message
    assert AuditEvent.objects.filter(action="people.user.deactivated").count() == 1

    release.items.filter(pk__in=[i.pk for i in items]).update(status="open")
    client.post(reverse("people:user-deactivate", args=[alice.pk]))
    page = client.get(reverse("people:user-detail", args=[alice.pk])).content.decode()
    assert "Open assignments (3)" in page
    for item in items:
        assert reverse("item-detail", args=[release.pk, item.pk]) in page
    olga = member("olga", seed_teams["platform"], Role.ENGINEER)
    response = client.post(reverse("people:user-reassign", args=[alice.pk]), {"to": olga.pk})
    assert response.status_code == 302
    assert set(release.items.filter(assignee=olga).values_list("pk", flat=True)) == {i.pk for i in items}
    assert AuditEvent.objects.filter(action="checklists.item.assigned", actor=admin).count() == 3
    assert client.post(reverse("people:user-reassign", args=[alice.pk]), {"to": "nope"}).status_code == 400


def test_an_admin_cannot_deactivate_themselves_and_a_deactivated_user_cannot_log_in(client, people):
    admin, alice = people["admin"], people["engineer"]
    client.force_login(admin)
    client.post(reverse("people:user-deactivate", args=[admin.pk]))
    admin.refresh_from_db()
    assert admin.is_active
    client.post(reverse("people:user-deactivate", args=[alice.pk]))
    client.logout()
    response = client.post(reverse("login"), {"username": "alice", "password": "pw-for-tests"})
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    client.force_login(admin)
    client.post(reverse("people:user-reactivate", args=[alice.pk]))
    alice.refresh_from_db()
    assert alice.is_active
    assert AuditEvent.objects.filter(action="people.user.reactivated", object_id=str(alice.pk)).exists()


def test_user_list_searches(client, people):
    client.force_login(people["admin"])
    page = client.get(reverse("people:user-list"), {"q": "ali"}).content.decode()
    assert "alice" in page and "audrey" not in page
