"""The approver's review at the top of the sign-off page, and the waiver pages' wording."""
import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from checklists.models import Approval, ReleaseItem, SignoffRequirement, Waiver
from checklists.signoff.review import release_review
from checklists.services import items as item_services
from checklists.services import evidence as evidence_services
from checklists.signoff import services as signoff, waivers
from checklists.services.releases import release_create
from checklists.services.templates import template_import
from tests.factories import add_note

pytestmark = pytest.mark.django_db

ITEM_KEY = "kubernetes-cluster.cluster-has-at-least-3-nodes-for-high-availability"


def _shape(release, people, tomorrow):
    """One item of each kind the review lists."""
    items = list(release.items.order_by("order")[:6])
    done_bare, overridden, na, stale, waived, evidenced = items
    ReleaseItem.objects.filter(pk=done_bare.pk).update(status="done", completed_by=people["manager"])
    ReleaseItem.objects.filter(pk=overridden.pk).update(status="done", probe_status="fail", decided_by_probe=False,
                                                        changed_by=people["engineer"])
    item_services.items_bulk_update(release=release, versions={na.pk: na.version}, by=people["manager"],
                                    status="not_applicable", reason="No persistent volumes in this service.")
    ReleaseItem.objects.filter(pk=stale.pk).update(status="done", decided_by_probe=True, probe_status="pass",
                                                   probe_checked_at=timezone.now() - datetime.timedelta(days=3))
    add_note(stale, by=people["manager"], text="probe result")
    waivers.waiver_request(item=waived, by=people["manager"], justification="Two nodes until Q3",
                           expires_on=tomorrow)
    ReleaseItem.objects.filter(pk=evidenced.pk).update(status="done")
    add_note(evidenced, by=people["manager"], text="proof")
    return done_bare, overridden, na, stale, waived, evidenced


def test_the_review_lists_what_deserves_a_look(client, people, release, tomorrow):
    done_bare, overridden, na, stale, waived, evidenced = _shape(release, people, tomorrow)
    review = release_review(release)
    assert [e.item.pk for e in review.done_without_evidence] == [done_bare.pk, overridden.pk]
    assert [e.item.pk for e in review.overrides] == [overridden.pk]
    assert "alice set it done" in review.overrides[0].note
    assert [(e.item.pk, e.note) for e in review.not_applicable] == [(na.pk, "No persistent volumes in this service.")]
    assert [e.item.pk for e in review.stale] == [stale.pk]
    assert [w.item_id for w in review.waivers] == [waived.pk]
    client.force_login(people["approver"])
    html = client.get(reverse("signoff-detail", args=[release.pk])).content.decode()
    review_html = html[html.index('id="review"'):html.index('id="signoff-panel"')]
    for item in (done_bare, overridden, na, stale, waived):
        assert reverse("item-detail", args=[release.pk, item.pk]) in review_html
    assert reverse("item-detail", args=[release.pk, evidenced.pk]) not in review_html
    assert "No persistent volumes in this service." in review_html and "Two nodes until Q3" in review_html


def test_what_changed_since_the_last_approval(people, ready_release):
    release = ready_release
    signoff.signoff_open(release=release, by=people["manager"])
    requirement = release.requirements.get(name="Security")
    signoff.approval_decide(requirement=requirement, by=people["approver"], decision=Approval.Decision.APPROVED)
    assert release_review(release).changed_since_approval == []
    item = release.items.get(key=ITEM_KEY)
    evidence_services.evidence_add_note(item=item, text="a new node list", by=people["manager"])
    changed = release_review(release).changed_since_approval
    assert [e.item.pk for e in changed] == [item.pk] and "added by manager" in changed[0].note


def _review_queries(release):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        release_review(release)
    return len(ctx.captured_queries)


def test_the_review_costs_the_same_queries_for_a_small_and_a_large_release(people, release, tomorrow):
    _shape(release, people, tomorrow)
    lines = ["# Tiny", "", "## One"] + [f"- [ ] item {i}" for i in range(8)]
    small = release_create(template_version=template_import(data="\n".join(lines).encode()).version,
                           service="tiny", version="1", by=people["manager"])
    _shape(small, people, tomorrow)
    SignoffRequirement.objects.create(release=small, name="Security", role="approver", order=1)
    for target in (small, release):
        Approval.objects.create(release=target, requirement=target.requirements.first(), approver=people["approver"],
                                decision=Approval.Decision.APPROVED, state_hash="x")
    # The items with evidence counts, the waivers, the latest approval, the audit events since it, the
    # params set on checks, the reasons of not-applicable items: 6, whatever the number of items.
    assert _review_queries(small) == _review_queries(release) == 6


def test_waiver_grant_from_my_page_confirms_and_a_refusal_without_comment_stays(client, people, release, tomorrow):
    item = release.items.get(key=ITEM_KEY)
    first = waivers.waiver_request(item=item, by=people["engineer"], justification="Two nodes", expires_on=tomorrow)
    client.force_login(people["approver"])
    page = client.get(reverse("my-approvals")).content.decode()
    assert item.text in page and "<code>" not in page
    refused = client.post(reverse("waiver-decide", args=[first.pk]), {"decision": "refuse", "next": "mine"})
    assert refused.status_code == 400 and refused.templates[0].name == "signoff/my.html"
    assert "comment" in refused.content.decode().lower() and 'role="alert"' in refused.content.decode()
    assert Waiver.objects.get(pk=first.pk).state == Waiver.State.REQUESTED
    granted = client.post(reverse("waiver-decide", args=[first.pk]), {"decision": "grant", "next": "mine"},
                          follow=True)
    assert granted.redirect_chain[-1][0] == reverse("my-approvals")
    assert f"Waiver granted for “{item.text}”" in granted.content.decode()


def test_waiver_tables_show_item_text_and_full_names(client, people, release, tomorrow):
    people["engineer"].first_name, people["engineer"].last_name = "Alice", "Engineer"
    people["engineer"].save()
    item = release.items.get(key=ITEM_KEY)
    waivers.waiver_request(item=item, by=people["engineer"], justification="Two nodes", expires_on=tomorrow)
    client.force_login(people["manager"])
    html = client.get(reverse("signoff-detail", args=[release.pk])).content.decode()
    table = html[html.index('<table class="waivers">'):]
    assert item.text in table and "Alice Engineer" in table and ITEM_KEY not in table


def test_params_set_on_a_check_are_listed_for_the_approver(people, release):
    from probes import services as probe_services

    item = release.items.get(key="testing.unit-tests-cover-critical-business-logic-80")
    assert release_review(release).params_changed == []
    probe_services.item_set_params(item=item, text="line_min: 5", by=people["manager"], expected_version=item.version)
    [entry] = release_review(release).params_changed
    assert entry.item.pk == item.pk
    assert entry.note == 'manager set {"line_min":5} (was {"line_min":80})'
