"""Kept rows (checklists/row_cache.py) never show a state they do not draw: every way a row can change
is seen on the next release page, from whichever process or cache the row comes."""
import datetime
import re

import pytest
from django.core.cache import caches
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from checklists.models import Membership, ReleaseItem, Role
from checklists.services import comments as comment_services
from checklists.services import evidence as evidence_services
from checklists.services import items as item_services
from checklists.services.items import Source
from checklists.signoff import waivers
from tests.factories import member

pytestmark = pytest.mark.django_db

PLATFORM_ITEM = "kubernetes-cluster.cluster-has-at-least-3-nodes-for-high-availability"


def _row(client, release, item) -> str:
    """The item's row as the release page draws it now."""
    page = client.get(reverse("release-detail", args=[release.pk]))
    assert page.status_code == 200
    found = re.search(rf'<div class="item-row[^"]*" id="item-{item.pk}".*?<div class="item-actions">.*?</div>\n</div>',
                      page.content.decode(), re.S)
    assert found, f"item {item.pk} is not drawn on the page"
    return found.group(0)


def _fresh(item):
    item.refresh_from_db()
    return item


@pytest.fixture
def item(release):
    return release.items.get(key=PLATFORM_ITEM)


@pytest.fixture
def engineer(client, people):
    client.force_login(people["engineer"])
    return client


def _probe(item, **changes):
    item_services.item_change(item=_fresh(item), changes=changes, by=None, expected_version=item.version,
                              source=Source.PROBE)


def test_each_change_of_a_row_shows_on_the_next_page(engineer, people, release, item):
    alice, manager = people["engineer"], people["manager"]
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    changes = [
        # (what changes, the change, what the row shows afterwards)
        ("status", lambda: item_services.item_set_status(item=_fresh(item), status="in_progress", by=alice,
                                                         expected_version=item.version),
         '<option value="in_progress" selected>'),
        ("evidence", lambda: evidence_services.evidence_add_note(item=_fresh(item), text="checked", by=alice),
         "1 evidence"),
        ("comment", lambda: comment_services.comment_add(item=_fresh(item), body="a question", by=alice),
         "1 comment<"),
        ("assignee", lambda: item_services.item_assign(item=_fresh(item), assignee=alice, by=manager,
                                                      expected_version=item.version),
         "<span class=\"visually-hidden\">Assignee: </span>alice"),
        ("due date", lambda: item_services.item_set_due_date(item=_fresh(item), due_date=yesterday, by=manager,
                                                            expected_version=item.version),
         '<span class="badge warn">overdue</span>'),
        ("probe verdict", lambda: _probe(item, status=ReleaseItem.Status.FAILED, probe_status="fail",
                                         decided_by_probe=True),
         "probe: fail"),
        ("probe checked again", lambda: item_services.item_record_check(
            item=_fresh(item), checked_at=timezone.now().replace(year=2031, month=1, day=2, hour=12)),
         "verdict of 2031-01-02"),
        ("override of the probe", lambda: item_services.item_update(
            item=_fresh(item), changes={"status": "done"}, by=alice, expected_version=item.version,
            reason="checked by hand"),
         "failed · overridden"),
        ("regressed", lambda: _probe(item, status=ReleaseItem.Status.FAILED, probe_status="fail",
                                     decided_by_probe=True, regressed=True),
         "regressed</span>"),
        ("waiver", lambda: waivers.waiver_decide(
            waiver=waivers.waiver_request(item=_fresh(item), by=alice, justification="later",
                                          expires_on=timezone.localdate() + datetime.timedelta(days=3)),
            by=people["approver"], grant=True),
         '<option value="waived" selected disabled>'),
    ]
    for what, change, shown in changes:
        before = _row(engineer, release, item)
        assert shown not in before, what
        change()
        assert shown in _row(engineer, release, item), what


def test_names_and_permissions_outside_the_item_show_too(engineer, people, release, item, seed_teams):
    item_services.item_assign(item=item, assignee=people["engineer"], by=people["manager"], expected_version=1)
    assert "Platform" in _row(engineer, release, item)
    seed_teams["platform"].name = "Platform engineering"
    seed_teams["platform"].save()
    assert "Platform engineering" in _row(engineer, release, item)
    people["engineer"].first_name, people["engineer"].last_name = "Alice", "Liddell"
    people["engineer"].save()
    assert "Alice Liddell" in _row(engineer, release, item)
    assert 'class="status-form"' in _row(engineer, release, item)
    # No longer an engineer: alice still sees the release, and may no longer change the item.
    Membership.objects.filter(user=people["engineer"]).update(role=Role.APPROVER)
    people["engineer"].refresh_from_db()
    assert 'class="status-form"' not in _row(engineer, release, item)


def test_section_progress_follows_the_rows(engineer, people, release, item):
    page = engineer.get(reverse("release-detail", args=[release.pk])).content.decode()
    progress = re.search(rf'id="section-progress-{item.section_id}".*?</span>', page, re.S).group(0)
    item_services.item_set_status(item=item, status="done", by=people["engineer"], expected_version=1)
    page = engineer.get(reverse("release-detail", args=[release.pk])).content.decode()
    assert re.search(rf'id="section-progress-{item.section_id}".*?</span>', page, re.S).group(0) != progress


def test_a_row_kept_by_another_process_shows_its_change(engineer, people, release, item):
    _row(engineer, release, item)
    item_services.item_set_status(item=item, status="failed", by=people["engineer"], expected_version=1)
    caches["fragments"].clear()  # this process starts cold: rows come from Redis, keyed on their state
    assert '<option value="failed" selected>' in _row(engineer, release, item)


def test_without_redis_the_rows_are_drawn(engineer, people, release, item, settings):
    settings.CACHES = {**settings.CACHES, "rows": {**settings.CACHES["rows"], "LOCATION": "redis://127.0.0.1:9/0"}}
    caches["fragments"].clear()
    item_services.item_set_status(item=item, status="done", by=people["engineer"], expected_version=1)
    assert '<option value="done" selected>' in _row(engineer, release, item)


def test_a_kept_row_carries_the_token_of_whoever_asks(engineer, release, item, seed_teams):
    """The row is kept once for everyone who may change it; its form carries each person's own CSRF token."""
    first = _row(engineer, release, item)  # kept, drawn for alice
    other = Client(enforce_csrf_checks=True)
    other.force_login(member("carol", seed_teams["platform"]))
    row = _row(other, release, item)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', row).group(1)
    assert token not in first
    response = other.post(reverse("item-update", args=[release.pk, item.pk]),
                          {"csrfmiddlewaretoken": token, "status": "in_progress", "version": 1})
    assert response.status_code == 302
    assert _fresh(item).status == "in_progress"


def _dashboard_row(client, release) -> str:
    page = client.get(reverse("dashboard"))
    assert page.status_code == 200
    link = reverse("release-detail", args=[release.pk])
    found = re.search(rf'<tr>\s*<th scope="row"><a href="{link}">.*?</tr>', page.content.decode(), re.S)
    assert found, f"release {release.pk} is not on the dashboard"
    return found.group(0)


def _rename(user, first, last):
    user.first_name, user.last_name = first, last
    user.save()


def test_each_change_of_a_release_shows_on_the_next_dashboard(engineer, people, release, item):
    """The dashboard's rows are kept too: progress, blockers, overdue items and the manager's name."""
    manager = people["manager"]
    total = release.items.count()
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    changes = [
        ("progress", lambda: item_services.item_set_status(item=_fresh(item), status="done", by=people["engineer"],
                                                           expected_version=item.version),
         f"1/{total} ("),
        ("blocker", lambda: item_services.item_set_status(item=_fresh(item), status="failed", by=people["engineer"],
                                                          expected_version=item.version),
         '?blocking=1">1</a>'),
        ("overdue", lambda: item_services.item_set_due_date(item=_fresh(item), due_date=yesterday, by=manager,
                                                           expected_version=item.version),
         '<span class="count warn">1</span>'),
        ("manager's name", lambda: _rename(manager, "Maude", "Lebowski"), "Maude Lebowski"),
    ]
    for what, change, shown in changes:
        assert shown not in _dashboard_row(engineer, release), what
        change()
        assert shown in _dashboard_row(engineer, release), what
