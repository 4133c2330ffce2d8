"""The sign-off rules of issue 5 §1-2, through the services."""
import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from checklists.models import Approval, AuditEvent, Release, ReleaseItem, Role
from checklists.signoff import services as signoff
from checklists.signoff.services import SignoffError
from tests.factories import member
from tests.factories import approve_all, change_item

pytestmark = pytest.mark.django_db


def _actions(release):
    return list(AuditEvent.objects.filter(release=release).values_list("action", flat=True))


def test_open_is_refused_with_every_blocking_item(release, people):
    release.items.filter(key__startswith="kubernetes-cluster.").update(status=ReleaseItem.Status.DONE)
    expected = set(release.items.filter(required=True).exclude(status__in=ReleaseItem.COMPLETE)
                   .values_list("key", flat=True))
    with pytest.raises(SignoffError) as caught:
        signoff.signoff_open(release=release, by=people["manager"])
    assert {b.key for b in caught.value.blockers.incomplete} == expected
    assert "kubernetes-cluster.cluster-has-at-least-3-nodes-for-high-availability" not in expected
    release.refresh_from_db()
    assert release.state == Release.State.IN_PROGRESS


def test_a_waived_item_without_a_live_waiver_blocks(ready_release, people):
    item = ready_release.items.first()
    ReleaseItem.objects.filter(pk=item.pk).update(status=ReleaseItem.Status.WAIVED)
    blockers = signoff.signoff_blockers(ready_release)
    assert [b.key for b in blockers.incomplete] == [item.key]
    assert "waiver" in blockers.incomplete[0].reason


def test_stale_probe_evidence_is_listed(ready_release, people, settings):
    settings.READINESS_EVIDENCE_MAX_AGE_HOURS = 24
    fresh, stale = ready_release.items.all()[:2]
    now = timezone.now()
    ReleaseItem.objects.filter(pk=fresh.pk).update(decided_by_probe=True, probe_checked_at=now)
    ReleaseItem.objects.filter(pk=stale.pk).update(decided_by_probe=True,
                                                   probe_checked_at=now - datetime.timedelta(hours=25))
    with pytest.raises(SignoffError) as caught:
        signoff.signoff_open(release=ready_release, by=people["manager"])
    assert [b.key for b in caught.value.blockers.stale] == [stale.key]
    assert not caught.value.blockers.incomplete


def test_open_approve_all_and_audit(ready_release, people, approvers, outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        signoff.signoff_open(release=ready_release, by=people["manager"])
    recipients = {address for message in outbox for address in message.to}
    assert {"pat@example.com", "sam@example.com", "paula@example.com"} <= recipients
    assert "manager@example.com" not in recipients  # the creator is never asked to approve
    outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        release = approve_all(ready_release, approvers)
    assert release.state == Release.State.APPROVED
    assert [m.to for m in outbox] == [["manager@example.com"]] * 3  # the manager hears of each decision
    approval = Approval.objects.filter(release=release).first()
    assert approval.state_hash == signoff.release_state_hash(release)
    actions = _actions(release)
    assert "checklists.signoff.opened" in actions
    assert actions.count("checklists.signoff.approved") == 3
    assert "checklists.release.approved" in actions


def test_a_later_change_supersedes_the_approvals_visibly(ready_release, people, approvers):
    signoff.signoff_open(release=ready_release, by=people["manager"])
    release = approve_all(ready_release, approvers)
    item = release.items.get(key="kubernetes-cluster.cluster-has-at-least-3-nodes-for-high-availability")
    change_item(item, status=ReleaseItem.Status.NOT_APPLICABLE, by=people["engineer"])
    release.refresh_from_db()
    assert release.state == Release.State.AWAITING_SIGNOFF
    superseded = Approval.objects.filter(release=release, superseded_at__isnull=False)
    # Platform and Product owner cover the whole release; Security covers only its sections.
    assert {a.requirement.name for a in superseded} == {"Platform", "Product owner"}
    assert all(item.key in a.superseded_reason for a in superseded)
    assert Approval.objects.filter(release=release, superseded_at__isnull=True).get().requirement.name == "Security"
    assert "checklists.signoff.superseded" in _actions(release)
    # The history stays: three decisions, two of them superseded.
    assert Approval.objects.filter(release=release).count() == 3


def test_an_item_no_longer_complete_takes_the_release_back_to_work(ready_release, people, approvers):
    signoff.signoff_open(release=ready_release, by=people["manager"])
    release = approve_all(ready_release, approvers)
    change_item(release.items.first(), status=ReleaseItem.Status.FAILED, by=people["engineer"])
    release.refresh_from_db()
    assert release.state == Release.State.IN_PROGRESS
    assert not Approval.objects.filter(release=release, superseded_at__isnull=True).exists()


def test_a_change_in_a_scoped_section_supersedes_that_requirement(ready_release, people, approvers):
    signoff.signoff_open(release=ready_release, by=people["manager"])
    release = approve_all(ready_release, approvers)
    security_item = release.items.filter(section__key__startswith="security").first()
    change_item(security_item, status=ReleaseItem.Status.NOT_APPLICABLE, by=people["manager"])
    assert set(Approval.objects.filter(release=release, superseded_at__isnull=False)
               .values_list("requirement__name", flat=True)) == {"Platform", "Security", "Product owner"}


def test_rejection_needs_a_comment_and_holds_until_reopened(ready_release, people, approvers):
    signoff.signoff_open(release=ready_release, by=people["manager"])
    platform = ready_release.requirements.get(name="Platform")
    with pytest.raises(SignoffError, match="comment"):
        signoff.approval_decide(requirement=platform, by=approvers["Platform"], decision="rejected", comment="  ")
    signoff.approval_decide(requirement=platform, by=approvers["Platform"], decision="rejected",
                            comment="No load test evidence.")
    ready_release.refresh_from_db()
    assert ready_release.state == Release.State.REJECTED
    security = ready_release.requirements.get(name="Security")
    with pytest.raises(SignoffError):
        signoff.approval_decide(requirement=security, by=approvers["Security"], decision="approved")
    with pytest.raises(PermissionDenied):
        signoff.signoff_reopen(release=ready_release, by=people["other_manager"])
    signoff.signoff_reopen(release=ready_release, by=people["manager"], reason="load test added")
    ready_release.refresh_from_db()
    assert ready_release.state == Release.State.IN_PROGRESS
    rejection = Approval.objects.get(release=ready_release)
    assert rejection.superseded_at and "load test added" in rejection.superseded_reason
    assert {"checklists.release.rejected", "checklists.signoff.reopened"} <= set(_actions(ready_release))


def test_only_the_required_team_or_role_may_decide(ready_release, people, approvers, seed_teams):
    signoff.signoff_open(release=ready_release, by=people["manager"])
    platform = ready_release.requirements.get(name="Platform")  # team platform, role approver
    for user in (people["approver"], people["engineer"], people["outsider_engineer"], people["auditor"],
                 people["admin"], people["other_manager"]):
        with pytest.raises(PermissionDenied):
            signoff.approval_decide(requirement=platform, by=user, decision="approved")
    # A platform member who is an auditor there does not hold the requirement either.
    auditor_in_platform = member("ivy", seed_teams["platform"], Role.AUDITOR)
    with pytest.raises(PermissionDenied):
        signoff.approval_decide(requirement=platform, by=auditor_in_platform, decision="approved")
    signoff.approval_decide(requirement=platform, by=approvers["Platform"], decision="approved")


def test_the_release_manager_may_not_approve_even_when_holding_the_requirement(release, people, approvers,
                                                                             seed_teams):
    product_owner = release.requirements.get(name="Product owner")
    signoff.requirement_update(requirement=product_owner, by=people["admin"], name="Product owner", role="",
                               team=product_owner.team)  # any member of the release team; only an admin may
    from tests.factories import complete_all

    complete_all(release)
    signoff.signoff_open(release=release, by=people["manager"])
    with pytest.raises(PermissionDenied, match="manage or created this release"):
        signoff.approval_decide(requirement=product_owner, by=people["manager"], decision="approved")


def test_requirements_change_only_by_the_manager_and_reopen_sign_off(ready_release, people, seed_teams):
    with pytest.raises(PermissionDenied):
        signoff.requirement_create(release=ready_release, by=people["other_manager"], name="SRE", team=seed_teams["sre"])
    requirement = signoff.requirement_create(release=ready_release, by=people["manager"], name="SRE",
                                             team=seed_teams["sre"])
    with pytest.raises(SignoffError):
        signoff.requirement_create(release=ready_release, by=people["manager"], name="Nobody")
    signoff.requirement_update(requirement=requirement, by=people["manager"], name="SRE on call",
                               role=Role.APPROVER, team=seed_teams["sre"])
    signoff.signoff_open(release=ready_release, by=people["manager"])
    signoff.requirement_delete(requirement=requirement, by=people["manager"])
    ready_release.refresh_from_db()
    assert ready_release.state == Release.State.IN_PROGRESS  # sign-off must open again
    actions = _actions(ready_release)
    assert "checklists.signoff.requirement_added" in actions and "checklists.signoff.reopened" in actions
