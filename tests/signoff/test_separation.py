"""Separation of duties: nobody signs alone, whatever they did to the items or the requirements first.

Each test is a way an engineer who wants to ship anyway tried to approve their own work.
"""
import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from checklists.models import Approval, Release, ReleaseItem, Role
from checklists.services import items as item_services
from checklists.signoff import services as signoff
from tests.factories import member
from tests.factories import approve_all, change_item

pytestmark = pytest.mark.django_db

PLATFORM_ITEM = "kubernetes-cluster.cluster-has-at-least-3-nodes-for-high-availability"


def assign(release, key, user, *, by):
    item = release.items.get(key=key)
    return item_services.item_assign(item=item, assignee=user, by=by, expected_version=item.version)


@pytest.fixture
def pat_engineer(ready_release, people, approvers, seed_teams):
    """Pat approves for Platform and is an engineer in SRE; the Platform item is assigned to him."""
    member("pat", seed_teams["sre"], Role.ENGINEER)
    assign(ready_release, PLATFORM_ITEM, approvers["Platform"], by=people["manager"])
    return approvers["Platform"]


def test_toggling_an_item_does_not_launder_who_completed_it(ready_release, people, approvers, pat_engineer):
    item = ready_release.items.get(key=PLATFORM_ITEM)
    change_item(item, status=ReleaseItem.Status.IN_PROGRESS, by=people["manager"])
    change_item(item, status=ReleaseItem.Status.DONE, by=pat_engineer)
    # The release manager toggles it: the item now says someone else completed it.
    change_item(item, status=ReleaseItem.Status.IN_PROGRESS, by=people["manager"])
    change_item(item, status=ReleaseItem.Status.DONE, by=people["manager"])
    item.refresh_from_db()
    assert item.completed_by == people["manager"]
    signoff.signoff_open(release=ready_release, by=people["manager"])
    with pytest.raises(PermissionDenied, match="decided items this requirement covers"):
        signoff.approval_decide(requirement=ready_release.requirements.get(name="Platform"), by=pat_engineer,
                                decision="approved")


def test_not_applicable_counts_as_deciding(ready_release, people, approvers, pat_engineer):
    item = ready_release.items.get(key=PLATFORM_ITEM)
    change_item(item, status=ReleaseItem.Status.IN_PROGRESS, by=people["manager"])
    change_item(item, status=ReleaseItem.Status.NOT_APPLICABLE, by=pat_engineer)
    signoff.signoff_open(release=ready_release, by=people["manager"])
    allowed, why = signoff.can_decide(ready_release.requirements.get(name="Platform"), pat_engineer)
    assert not allowed and PLATFORM_ITEM in why


def test_a_release_manager_cannot_approve_their_own_release(client, ready_release, people):
    manager = people["manager"]
    client.force_login(manager)
    template_requirement = ready_release.requirements.get(name="Platform")
    # Removing a requirement that came from the template needs an admin.
    url = reverse("requirement-delete", args=[ready_release.pk, template_requirement.pk])
    assert client.post(url).status_code == 403
    assert ready_release.requirements.filter(pk=template_requirement.pk).exists()
    own = signoff.requirement_create(release=ready_release, by=manager, name="Release managers",
                                     role=Role.RELEASE_MANAGER)
    signoff.signoff_open(release=ready_release, by=manager)
    response = client.post(reverse("requirement-decide", args=[ready_release.pk, own.pk]),
                           {"decision": "approved", "comment": "ship it"})
    assert response.status_code == 403
    assert not Approval.objects.filter(release=ready_release).exists()


def test_an_admin_may_weaken_a_template_requirement_and_it_is_on_record(ready_release, people):
    requirement = ready_release.requirements.get(name="Platform")
    with pytest.raises(PermissionDenied, match="only an admin"):
        signoff.requirement_update(requirement=requirement, by=people["manager"], name="Platform", role="",
                                   team=requirement.team)
    # Renaming asks for nobody less: the manager may.
    signoff.requirement_update(requirement=requirement, by=people["manager"], name="Platform team",
                               role=requirement.role, team=requirement.team)
    ready_release.release_manager = people["admin"]
    signoff.requirement_delete(requirement=requirement, by=people["admin"])
    event = ready_release.audit_events.get(action="checklists.signoff.requirement_removed")
    assert event.before["from_template"] is True and event.actor == people["admin"]


def test_changing_requirements_after_sign_off_opens_reopens_it(ready_release, people, approvers, seed_teams,
                                                               outbox, django_capture_on_commit_callbacks):
    signoff.signoff_open(release=ready_release, by=people["manager"])
    signoff.approval_decide(requirement=ready_release.requirements.get(name="Security"), by=approvers["Security"],
                            decision="approved")
    outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        signoff.requirement_create(release=ready_release, by=people["manager"], name="SRE", team=seed_teams["sre"])
    ready_release.refresh_from_db()
    assert ready_release.state == Release.State.IN_PROGRESS
    assert not ready_release.approvals.filter(superseded_at__isnull=True).exists()
    assert any("requirements changed" in m.subject for m in outbox)
    assert "sam@example.com" in {address for m in outbox for address in m.to}


def test_one_person_decides_one_requirement(ready_release, people, seed_teams):
    # Olga holds both whole-release requirements (Platform approver, release-team approver).
    olga = member("olga", seed_teams["platform"], Role.APPROVER)
    member("olga", seed_teams["release"], Role.APPROVER)
    signoff.signoff_open(release=ready_release, by=people["manager"])
    signoff.approval_decide(requirement=ready_release.requirements.get(name="Platform"), by=olga,
                            decision="approved")
    with pytest.raises(PermissionDenied, match="different person"):
        signoff.approval_decide(requirement=ready_release.requirements.get(name="Product owner"), by=olga,
                                decision="approved")
    # A template that allows it says so, and then she may.
    template = ready_release.template_version.template
    template.one_person_many_requirements = True
    template.save()
    ready_release.refresh_from_db()
    signoff.approval_decide(requirement=ready_release.requirements.get(name="Product owner"), by=olga,
                            decision="approved")


def test_a_comment_voids_nothing(client, ready_release, people, approvers):
    signoff.signoff_open(release=ready_release, by=people["manager"])
    release = approve_all(ready_release, approvers)
    assert release.state == Release.State.APPROVED
    item = release.items.get(key=PLATFORM_ITEM)
    client.force_login(approvers["Security"])
    response = client.post(reverse("comment-create", args=[release.pk, item.pk]), {"body": "Why 3 nodes?"})
    assert response.status_code in (200, 302)
    release.refresh_from_db()
    assert release.state == Release.State.APPROVED
    assert release.approvals.filter(superseded_at__isnull=True).count() == 3
    assert item.comments.count() == 1


def test_a_role_counts_only_in_its_own_team(client, release, people, seed_teams):
    # Erin: engineer in a team that owns nothing here, approver in Platform. Platform's items, and the
    # release's probe runs, are not hers: her engineer role was granted in another team.
    from tests.factories import TeamFactory

    erin = member("erin", TeamFactory(slug="mobile"), Role.ENGINEER)
    member("erin", seed_teams["platform"], Role.APPROVER)
    item = release.items.get(key=PLATFORM_ITEM)
    client.force_login(erin)
    response = client.post(reverse("item-update", args=[release.pk, item.pk]),
                           {"version": item.version, "status": "done"})
    assert response.status_code == 403
    response = client.post(reverse("evidence-create", args=[release.pk, item.pk]),
                           {"kind": "note", "note": "trust me"})
    assert response.status_code == 403
    item.refresh_from_db()
    assert item.status == ReleaseItem.Status.OPEN and not item.evidence.exists()
    response = client.post(reverse("probes:run-create", args=[release.pk]), {"source": "cluster"})
    assert response.status_code == 403


def test_the_page_warns_when_a_requirement_has_no_eligible_approver(client, ready_release, people, approvers,
                                                                    pat_engineer):
    # Pat is the only Platform approver; completing a Platform item excludes him.
    item = ready_release.items.get(key=PLATFORM_ITEM)
    change_item(item, status=ReleaseItem.Status.IN_PROGRESS, by=people["manager"])
    change_item(item, status=ReleaseItem.Status.DONE, by=pat_engineer)
    signoff.signoff_open(release=ready_release, by=people["manager"])
    client.force_login(people["manager"])
    page = client.get(reverse("signoff-detail", args=[ready_release.pk])).content.decode()
    assert "No eligible approver left" in page
    assert "pat" in page and PLATFORM_ITEM in page


@pytest.mark.django_db(transaction=False)
@hypothesis_settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps=st.lists(st.tuples(st.sampled_from(["done", "na", "progress", "approve", "add_requirement"]),
                                st.integers(0, 4), st.integers(0, 6)), min_size=3, max_size=14))
def test_no_release_is_approved_unless_independent_people_decided_every_requirement(
        steps, django_db_blocker, people, seed_teams, approvers):
    """Random changes, requirement edits and decisions by a random cast never approve a release
    unless each requirement was decided by a distinct eligible person who decided no item in its
    scope and does not manage the release."""
    from django.db import transaction

    from tests.factories import seed_release

    sid = transaction.savepoint_create()
    try:
        member("pat", seed_teams["sre"], Role.ENGINEER)  # Pat approves Platform and works on its items
        cast = [people["manager"], approvers["Platform"], approvers["Security"], approvers["Product owner"],
                member("sam", seed_teams["sre"], Role.ENGINEER)]
        release = seed_release(service=f"prop-{len(steps)}", manager=people["manager"])
        keys = list(release.items.filter(key__startswith=("kubernetes-cluster.")).values_list("key", flat=True)[:7])
        release.items.exclude(key__in=keys).update(required=False)  # a small release: 7 required items
        for key in keys:
            assign(release, key, cast[1 + keys.index(key) % 2], by=people["manager"])
        for action, who, which in steps:
            user = cast[who]
            item = release.items.get(key=keys[which % len(keys)])
            status = {"done": "done", "na": "not_applicable", "progress": "in_progress"}.get(action)
            try:
                if status:
                    item_services.item_set_status(item=item, status=status, by=user, expected_version=item.version)
                elif action == "add_requirement":
                    signoff.requirement_create(release=release, by=user, name=f"Extra {which}",
                                               role=Role.RELEASE_MANAGER if which % 2 else Role.APPROVER)
                else:
                    release.refresh_from_db()
                    if release.state in (Release.State.IN_PROGRESS, Release.State.DRAFT):
                        signoff.signoff_open(release=release, by=people["manager"])
                    requirement = release.requirements.all()[which % release.requirements.count()]
                    signoff.approval_decide(requirement=requirement, by=user, decision="approved")
            except (PermissionDenied, signoff.SignoffError, item_services.ItemError):
                pass
        release.refresh_from_db()
        if release.state == Release.State.APPROVED:
            live = list(release.approvals.filter(superseded_at__isnull=True).select_related("requirement"))
            assert {a.requirement_id for a in live} == set(release.requirements.values_list("pk", flat=True))
            assert len({a.approver_id for a in live}) == len(live)
            deciders = signoff.item_deciders(release)
            for approval in live:
                assert approval.approver_id != release.release_manager_id
                scope = signoff.scope_keys(approval.requirement)
                decided = deciders.get(approval.approver_id, set())
                assert not (decided if scope is None else decided & scope)
    finally:
        transaction.savepoint_rollback(sid)
