"""The pages: query counts that do not grow, filters, the live changes endpoint, conflicts, uploads."""
import datetime
import hashlib
import re
from pathlib import Path

import pytest
from django.db.models import Count
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from checklists import charts, selectors
from checklists.models import AuditEvent, Comment, Evidence, Release, ReleaseItem
from checklists.services import items as item_services
from checklists.services import comments as comment_services
from checklists.services import evidence as evidence_services
from checklists.services.releases import release_create
from checklists.services.templates import template_import
from tests.factories import seed_release

pytestmark = pytest.mark.django_db

PLATFORM_ITEM = "kubernetes-cluster.cluster-has-at-least-3-nodes-for-high-availability"


def _small_template(n_items=20):
    lines = ["# Small", "", "## First"] + [f"- [ ] item {i}" for i in range(n_items // 2)]
    lines += ["", "### Nested"] + [f"- [ ] nested item {i}" for i in range(n_items - n_items // 2)]
    return template_import(data="\n".join(lines).encode(), name=f"Small {n_items}").version


def _make_releases(count, manager, template_version, start=0):
    for n in range(start, start + count):
        release = release_create(template_version=template_version, service=f"svc-{n % 7}", version=f"1.{n}",
                                 environment="production" if n % 2 else "staging", by=manager)
        item = release.items.first()
        Comment.objects.create(item=item, author=manager, body="busy")
        ReleaseItem.objects.filter(pk=item.pk).update(status="failed", due_date=datetime.date(2000, 1, 1))


# Dashboard for a release manager, per request: session, user, roles (3); the paginator's count and
# the page of releases with progress, blocker and overdue counts as annotations (2); the filter
# choices, environments/services and teams (2); the open blockers of the latest releases, for the trend
# chart (1). Nothing here is per release. (An engineer adds one: their team ids, for the visibility check.)
DASHBOARD_QUERIES = 8


def test_dashboard_query_count_does_not_grow_with_releases(client, django_assert_max_num_queries, people):
    template = _small_template()
    client.force_login(people["manager"])
    _make_releases(5, people["manager"], template)
    with django_assert_max_num_queries(DASHBOARD_QUERIES):
        response = client.get(reverse("dashboard"))
    assert response.content.count(b'<progress') == 5
    _make_releases(45, people["manager"], template, start=5)
    with django_assert_max_num_queries(DASHBOARD_QUERIES):
        response = client.get(reverse("dashboard"))
    assert response.content.count(b'<progress') == 50


# Release page for an engineer, per request: session, user, memberships (roles and team ids in one
# read) (3); the release with the live view's cursor, the newest audit event, as a subquery (1);
# sections, and per-section counts with blocking and overdue (2); the items with owner, assignee and
# evidence/comment counts as subqueries (1); teams and assignees for the filters (2). Nothing here
# is per item. The included sign-off and probe panels are stubs today; when they read data they
# bring their own fixed cost and this number moves with them. (It was 11: roles and team ids were
# two reads, and blocking/overdue a query of their own; then 10, with the cursor a query apart.)
RELEASE_PAGE_QUERIES = 9


# One section's rows, loaded when it scrolls into view: session, user, memberships (3); the release
# (1); the section (1); its items with owner, assignee and counts (1).
SECTION_ROWS_QUERIES = 6
_WAITING = re.compile(r'class="items waiting" hx-get="(\?[^"]+)"')


def _rows(html: bytes | str) -> list[int]:
    text = html.decode() if isinstance(html, bytes) else html
    return [int(pk) for pk in re.findall(r'class="item-row[^"]*" id="item-(\d+)"', text)]


def _all_rows(client, url, django_assert_max_num_queries, **params) -> tuple[list[int], bytes]:
    """The rows the page draws, then those of every section that waits to be scrolled to."""
    with django_assert_max_num_queries(RELEASE_PAGE_QUERIES + (1 if params else 0)):  # filters: one count
        page = client.get(url, params)
    rows = _rows(page.content)
    for query in _WAITING.findall(page.content.decode()):
        with django_assert_max_num_queries(SECTION_ROWS_QUERIES):
            part = client.get(url + query.replace("&amp;", "&"), HTTP_HX_REQUEST="true")
        assert part.status_code == 200 and b"<details class=\"section" not in part.content
        rows += _rows(part.content)
    return rows, page.content


def test_release_page_query_count_does_not_grow_with_items(client, django_assert_max_num_queries, people):
    manager = people["manager"]
    small = release_create(template_version=_small_template(), service="small", version="1", by=manager)
    big = seed_release(manager=manager)
    for release in (small, big):
        for item in release.items.all()[:10]:
            Comment.objects.create(item=item, author=manager, body="c")
            evidence_services.evidence_add_note(item=item, text=f"note {item.pk}", by=manager)
            ReleaseItem.objects.filter(pk=item.pk).update(assignee=people["engineer"])
    client.force_login(people["engineer"])  # an engineer: the most expensive visibility check
    for release in (small, big):
        url = reverse("release-detail", args=[release.pk])
        rows, page = _all_rows(client, url, django_assert_max_num_queries)
        # Every item exactly once, in checklist order within each section.
        assert sorted(rows) == sorted(release.items.values_list("pk", flat=True))
    assert len(_rows(page)) <= 40  # the big page draws its first sections; the others wait


def test_release_page_size_is_bounded(client, people, seed_teams):
    manager = people["manager"]
    client.force_login(manager)  # the release manager: every row editable, every section's tools
    seed = seed_release(manager=manager)
    page = client.get(reverse("release-detail", args=[seed.pk])).content
    assert len(page) <= 120 * 1024, f"{len(page) / 1024:.0f} KiB for 211 items"
    large = release_create(template_version=_small_template(2000), service="large", version="1", by=manager)
    page = client.get(reverse("release-detail", args=[large.pk])).content
    assert len(page) <= 250 * 1024, f"{len(page) / 1024:.0f} KiB for 2,000 items"


def test_a_waiting_section_is_drawn_when_asked_for_without_javascript(client, people, release):
    client.force_login(people["manager"])
    url = reverse("release-detail", args=[release.pk])
    query = _WAITING.findall(client.get(url).content.decode())[-1]
    section = int(re.search(r"section=(\d+)", query).group(1))
    page = client.get(url + query)  # a plain link: the whole page, that section's rows drawn
    expected = set(release.items.filter(section_id=section).values_list("pk", flat=True))
    assert expected and expected <= set(_rows(page.content))
    # A section of another template is not found.
    other = _small_template().sections.first()
    assert client.get(url, {"section": other.pk}, HTTP_HX_REQUEST="true").status_code == 404


def test_filters_apply_to_sections_that_wait(client, django_assert_max_num_queries, people, release):
    last = release.items.order_by("-order").first()  # in the last section: never drawn with the page
    ReleaseItem.objects.filter(pk=last.pk).update(status="failed")
    client.force_login(people["auditor"])
    url = reverse("release-detail", args=[release.pk])
    rows, _ = _all_rows(client, url, django_assert_max_num_queries, status="failed")
    assert rows == [last.pk]


def test_row_links_match_reverse(people, release):
    from checklists.templatetags.readiness import item_url_for, release_url_for

    for item in release.items.all()[:3]:
        for name in ("item-detail", "item-update", "evidence-create"):
            assert item_url_for(name, item.release_id, item.pk) == reverse(name, args=[item.release_id, item.pk])
    for name in ("release-detail", "release-changes", "signoff-detail"):
        assert release_url_for(name, release.pk) == reverse(name, args=[release.pk])


def test_a_section_loads_its_rows_in_batches_whatever_its_size(client, settings, people):
    """A release page is bounded however large a section is: its rows come a batch at a time."""
    settings.READINESS_RELEASE_PAGE_ITEMS = 5
    release = seed_release(manager=people["manager"])
    section = release.items.values("section_id").annotate(n=Count("pk")).order_by("-n").first()
    client.force_login(people["manager"])
    url = reverse("release-detail", args=[release.pk])
    seen, start = [], 0
    while start is not None:
        part = client.get(url, {"section": section["section_id"], "from": start}, HTTP_HX_REQUEST="true").content.decode()
        rows = _rows(part)
        assert len(rows) <= 5
        seen += rows
        following = re.search(r'from=(\d+)', part)
        start = int(following.group(1)) if following else None
    assert len(seen) == len(set(seen)) == section["n"]


def test_dashboard_filters_and_search(client, people, release, seed_teams):
    other = release_create(template_version=_small_template(), service="billing", version="7", environment="staging",
                           by=people["manager"])
    client.force_login(people["manager"])
    url = reverse("dashboard")
    assert b"billing 7" in client.get(url).content and b"todo-app 1.0.0" in client.get(url).content
    filtered = client.get(url, {"environment": "staging"}).content
    assert b"billing 7" in filtered and b"todo-app 1.0.0" not in filtered
    assert b"billing 7" not in client.get(url, {"q": "todo"}).content
    assert b"billing 7" not in client.get(url, {"team": "platform"}).content  # small template: no teams
    assert b"todo-app 1.0.0" in client.get(url, {"team": "platform"}).content
    Release.objects.filter(pk=other.pk).update(state="approved")
    assert b"todo-app 1.0.0" not in client.get(url, {"state": "approved"}).content


def test_dashboard_counts_blockers_and_overdue(client, people, release):
    items = list(release.items.filter(required=True)[:3])
    ReleaseItem.objects.filter(pk__in=[i.pk for i in items]).update(status="failed")
    ReleaseItem.objects.filter(pk=items[0].pk).update(due_date=timezone.localdate() - datetime.timedelta(days=1))
    client.force_login(people["manager"])
    page = client.get(reverse("dashboard")).content.decode()
    assert re.search(r'href="[^"]*\?blocking=1">3</a>', page)
    assert '<span class="count warn">1</span>' in page


def test_release_page_filters(client, people, release):
    item = release.items.get(key=PLATFORM_ITEM)
    ReleaseItem.objects.filter(pk=item.pk).update(status="failed", assignee=people["engineer"])
    client.force_login(people["engineer"])
    url = reverse("release-detail", args=[release.pk])
    assert client.get(url, {"blocking": "1"}).content.count(b'class="item-row') == 1
    assert client.get(url, {"mine": "1", "status": "failed"}).content.count(b'class="item-row') == 1
    assert client.get(url, {"assignee": "alice"}).content.count(b'class="item-row') == 1
    platform = client.get(url, {"team": "platform"}).content.count(b'class="item-row')
    assert 0 < platform < 211
    assert client.get(url, {"status": "done"}).content.count(b'class="item-row') == 0


def test_my_items_and_team_rollup(client, people, release):
    item = release.items.get(key=PLATFORM_ITEM)
    soon = timezone.localdate() - datetime.timedelta(days=2)
    ReleaseItem.objects.filter(pk=item.pk).update(assignee=people["outsider_engineer"], due_date=soon, status="failed")
    client.force_login(people["outsider_engineer"])
    page = client.get(reverse("my-items"), {"scope": "assigned"}).content.decode()
    assert page.count("<tr class") == 1 and "overdue" in page
    everything = client.get(reverse("my-items")).content.decode()
    assert everything.count("<tr class") > 1
    assert everything.index("Cluster has at least 3 nodes") < everything.index("</tbody>")
    rollup = client.get(reverse("team-rollup")).content.decode()
    assert "Platform" in rollup and "/teams/platform/items/?blocking=1" in rollup
    team = client.get(reverse("team-items", args=["platform"]), {"overdue": "1"}).content.decode()
    assert "Cluster has at least 3 nodes" in team


def test_work_lists_leave_out_approved_releases(client, django_assert_max_num_queries, people, release):
    done = release_create(template_version=release.template_version, service="shipped", version="1",
                          by=people["manager"])
    for r in (release, done):
        ReleaseItem.objects.filter(release=r, key=PLATFORM_ITEM).update(assignee=people["engineer"],
                                                                         status="failed")
    Release.objects.filter(pk=done.pk).update(state=Release.State.APPROVED)
    client.force_login(people["engineer"])
    mine = client.get(reverse("my-items"), {"scope": "assigned"}).content.decode()
    assert mine.count("<tr class") == 1 and "shipped" not in mine and release.service in mine
    team = client.get(reverse("team-items", args=["platform"]), {"blocking": "1"}).content.decode()
    assert team.count("<tr class") == 1 and "shipped" not in team
    rows = {row["team"].slug if row["team"] else None: row for row in selectors.team_rollup(people["manager"])}
    assert rows["platform"]["releases"] == 1 and rows["platform"]["blocking"] == 1
    # The heat map beside the rollup counts the open release's items, not the approved one's.
    heat = charts.team_section_heatmap(people["manager"])
    assert sum(row["total"] for row in heat.rows) == release.items.exclude(status__in=ReleaseItem.COMPLETE).count()
    # Session, user, memberships; the paginator's count and the page of items.
    with django_assert_max_num_queries(5):
        client.get(reverse("my-items"))


def test_create_release_in_the_browser_flow(client, people, release):
    client.force_login(people["manager"])
    form = client.get(reverse("release-create")).content.decode()
    assert 'name="service"' in form and "<label" in form
    response = client.post(reverse("release-create"), {
        "template_version": release.template_version_id, "service": "payments", "version": "3.0",
        "environment": "production", "target_date": "2030-05-01"})
    created = Release.objects.get(service="payments")
    assert response["Location"] == reverse("release-detail", args=[created.pk])
    assert created.items.count() == 211 and created.release_manager == people["manager"]
    again = client.post(reverse("release-create"), {
        "template_version": release.template_version_id, "service": "payments", "version": "3.0",
        "environment": "production"})
    assert again.status_code == 400 and "already has a release" in again.content.decode()


# Live view. The cursor is the id of the newest audit event of the release the page has seen: every
# change to an item writes one, and the audit lock hands out ids in commit order, so a cursor never
# trails (no clock margin, no rows sent twice) and never skips a change committed after it was read.

BUNDLES = Path(__file__).parent.parent / "probes" / "bundles"


def _page_cursor(client, release) -> int:
    body = client.get(reverse("release-detail", args=[release.pk])).content.decode()
    return int(re.search(r"changes/\?since=(\d+)", body).group(1))


def _poll(client, release, since):
    response = client.get(reverse("release-changes", args=[release.pk]), {"since": since})
    cursor = re.search(r"since=(\d+)", response.content.decode()) if response.status_code == 200 else None
    return response, int(cursor.group(1)) if cursor else None


@pytest.mark.parametrize("who", ["auditor", "engineer"])
def test_changes_endpoint_answers_204_in_4_queries_when_nothing_is_new(client, django_assert_max_num_queries,
                                                                        people, release, who):
    client.force_login(people[who])
    since = _page_cursor(client, release)  # also warms the session
    # session, user, the user's memberships (roles and teams in one read), and the single SELECT that
    # checks visibility and "any audit event after the cursor?" together
    with django_assert_max_num_queries(4):
        response = client.get(reverse("release-changes", args=[release.pk]), {"since": since})
    assert response.status_code == 204
    assert client.get(reverse("release-changes", args=[release.pk]), {"since": "nonsense"}).status_code == 400
    assert client.get(reverse("release-changes", args=[release.pk]), {"since": "-1"}).status_code == 400


def test_a_change_is_sent_once_then_the_poll_is_empty(client, people, release):
    client.force_login(people["auditor"])
    since = _page_cursor(client, release)
    item = release.items.get(key=PLATFORM_ITEM)
    item_services.item_set_status(item=item, status="done", by=people["engineer"], expected_version=1)
    response, cursor = _poll(client, release, since)
    assert response.status_code == 200 and f'id="item-{item.pk}"' in response.content.decode()
    assert cursor == AuditEvent.objects.filter(release=release).latest("id").pk
    # The next poll, right away, with the cursor it was given: nothing new, so nothing is sent again
    # (a cursor trailing the clock sent the same rows for seconds).
    assert _poll(client, release, cursor)[0].status_code == 204


def test_changes_endpoint_returns_changed_rows_and_progress(client, people, release):
    client.force_login(people["auditor"])
    since = _page_cursor(client, release)
    item = release.items.get(key=PLATFORM_ITEM)
    item_services.item_set_status(item=item, status="done", by=people["engineer"], expected_version=1)
    other = release.items.exclude(pk=item.pk).last()
    evidence_services.evidence_add_link(item=other, url="https://ci.example.com/1", by=people["manager"])
    commented = release.items.exclude(pk__in=[item.pk, other.pk]).first()
    comment_services.comment_add(item=commented, body="looked at it", by=people["manager"])
    response, cursor = _poll(client, release, since)
    body = response.content.decode()
    assert response.status_code == 200
    rows = re.findall(r'id="item-(\d+)"[^>]*hx-swap-oob="true"', body, flags=re.S)
    assert sorted(map(int, rows)) == sorted([item.pk, other.pk, commented.pk])
    assert 'id="release-progress" class="release-progress" hx-swap-oob="true"' in body
    assert "1 of 211 items" in body
    assert cursor > since


def test_a_probe_run_sends_the_items_it_decided_and_those_it_attached_evidence_to(client, people, release):
    from probes import bundles, services as probe_services

    client.force_login(people["auditor"])
    since = _page_cursor(client, release)
    run = probe_services.run_create(release=release, bundle=bundles.read_paths([BUNDLES / "good"]),
                                    bundle_name="good", queue=False)
    probe_services.run_execute(run_id=run.pk)
    response, cursor = _poll(client, release, since)
    body = response.content.decode()
    rows = set(map(int, re.findall(r'id="item-(\d+)"[^>]*hx-swap-oob="true"', body, flags=re.S)))
    decided = set(release.items.filter(decided_by_probe=True).values_list("pk", flat=True))
    assert decided and decided <= rows
    assert "probe: pass" in body
    # Run again with the same verdicts: no item changes, but each passing item gets new evidence.
    run = probe_services.run_create(release=release, bundle=bundles.read_paths([BUNDLES / "good"]),
                                    bundle_name="good", queue=False)
    probe_services.run_execute(run_id=run.pk)
    response, _ = _poll(client, release, cursor)
    rows = set(map(int, re.findall(r'id="item-(\d+)"[^>]*hx-swap-oob="true"', response.content.decode(),
                                   flags=re.S)))
    assert response.status_code == 200 and decided <= rows


def test_changes_to_another_release_do_not_wake_this_page(client, people, release):
    client.force_login(people["auditor"])
    since = _page_cursor(client, release)
    other = release_create(template_version=_small_template(), service="other", version="1", by=people["manager"])
    comment_services.comment_add(item=other.items.first(), body="elsewhere", by=people["manager"])
    assert _poll(client, release, since)[0].status_code == 204


def test_changes_endpoint_hides_releases_from_outsiders(client, people, release):
    client.force_login(people["nobody"])
    assert client.get(reverse("release-changes", args=[release.pk]), {"since": 0}).status_code == 404


# No lost updates.


def test_second_save_with_an_old_version_is_refused_with_the_current_value(client, people, release):
    item = release.items.get(key=PLATFORM_ITEM)
    url = reverse("item-update", args=[release.pk, item.pk])
    client.force_login(people["engineer"])
    assert client.post(url, {"status": "done", "version": 1}, HTTP_HX_REQUEST="true").status_code == 200
    client.force_login(people["manager"])  # loaded the page before alice saved: still holds version 1
    response = client.post(url, {"status": "failed", "version": 1}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 409
    assert "Not saved: alice changed this item" in body and "Status is now “Done”" in body
    assert 'name="version" value="2"' in body  # the row now carries the current version
    item.refresh_from_db()
    assert item.status == "done" and item.version == 2 and item.changed_by == people["engineer"]
    assert AuditEvent.objects.filter(action="checklists.item.status_changed").count() == 1
    # Without htmx: a redirect with the same message.
    response = client.post(url, {"status": "failed", "version": 1}, follow=True)
    assert "Not saved: alice changed this item" in response.content.decode()


def test_service_conflict_carries_value_author_and_time(people, release):
    item = release.items.get(key=PLATFORM_ITEM)
    stale = release.items.get(pk=item.pk)
    item_services.item_set_due_date(item=item, due_date=datetime.date(2030, 1, 2), by=people["engineer"],
                                    expected_version=1)
    with pytest.raises(item_services.ItemConflict) as conflict:
        item_services.item_set_due_date(item=stale, due_date=datetime.date(2031, 1, 1), by=people["manager"],
                                        expected_version=1)
    assert conflict.value.current == "2030-01-02" and conflict.value.changed_by == "alice"
    assert conflict.value.changed_at is not None
    item.refresh_from_db()
    assert item.due_date == datetime.date(2030, 1, 2)


def test_status_changes_write_audit_and_completed_by(people, release):
    item = release.items.get(key=PLATFORM_ITEM)
    item_services.item_set_status(item=item, status="done", by=people["engineer"], expected_version=1)
    assert item.completed_by == people["engineer"]
    item_services.item_set_status(item=item, status="failed", by=people["engineer"], expected_version=2)
    item.refresh_from_db()
    assert item.completed_by is None and item.version == 3
    events = AuditEvent.objects.filter(action="checklists.item.status_changed").order_by("id")
    assert [(e.before, e.after) for e in events] == [
        ({"status": "open"}, {"status": "done", "version": 2}),
        ({"status": "done"}, {"status": "failed", "version": 3}),
    ]
    assert events[0].actor_name == "alice" and events[0].release_id == release.pk


# Evidence uploads and downloads.


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_upload_stores_hash_size_and_detected_type(client, people, release, media):
    item = release.items.get(key=PLATFORM_ITEM)
    client.force_login(people["engineer"])
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    upload = SimpleUploadedFile("../../etc/passwd <script>.html", png, content_type="text/html")
    response = client.post(reverse("evidence-create", args=[release.pk, item.pk]), {"kind": "file", "file": upload},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "added" in response.content.decode()
    evidence = Evidence.objects.get()
    assert evidence.sha256 == hashlib.sha256(png).hexdigest() and evidence.size == len(png)
    assert evidence.content_type == "image/png"  # from the bytes, not the browser's text/html
    assert evidence.filename == "passwd_script.html"
    assert evidence.file.name == f"evidence/{evidence.sha256[:2]}/{evidence.sha256}"
    event = AuditEvent.objects.get(action="checklists.evidence.added")
    assert event.after["sha256"] == evidence.sha256


def test_upload_above_the_limit_is_refused_with_a_clear_message(client, people, release, media, settings):
    settings.READINESS_MAX_UPLOAD_BYTES = 1024
    item = release.items.get(key=PLATFORM_ITEM)
    client.force_login(people["engineer"])
    upload = SimpleUploadedFile("big.bin", b"x" * 2048)
    response = client.post(reverse("evidence-create", args=[release.pk, item.pk]), {"kind": "file", "file": upload},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 413
    assert "limit" in response.content.decode() and "Nothing was stored" in response.content.decode()
    assert not Evidence.objects.exists() and not list(media.rglob("*"))


def test_an_upload_above_the_limit_is_dropped_while_it_streams_in(rf, settings):
    """The limit applies while the body is read: the rest of the file is discarded, never spooled to a
    temporary file (a request of many gigabytes must not fill the disk before the view says no)."""
    settings.READINESS_MAX_UPLOAD_BYTES = 100 * 1024
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    request = rf.post("/", {"kind": "file", "note": "kept", "file": SimpleUploadedFile("big.bin", b"x" * 300 * 1024)})
    assert "file" not in request.FILES
    assert request.POST["note"] == "kept"
    assert request.oversized_uploads == ["big.bin"]


def test_an_upload_at_the_limit_is_kept(rf, settings):
    settings.READINESS_MAX_UPLOAD_BYTES = 100 * 1024
    request = rf.post("/", {"file": SimpleUploadedFile("ok.bin", b"x" * 100 * 1024)})
    assert request.FILES["file"].size == 100 * 1024
    assert not getattr(request, "oversized_uploads", [])


def test_upload_refused_while_streaming_says_why(client, people, release, media, settings):
    settings.READINESS_MAX_UPLOAD_BYTES = 100 * 1024
    item = release.items.get(key=PLATFORM_ITEM)
    client.force_login(people["engineer"])
    upload = SimpleUploadedFile("big.bin", b"x" * 300 * 1024)
    response = client.post(reverse("evidence-create", args=[release.pk, item.pk]), {"kind": "file", "file": upload},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 413
    assert "larger than" in response.content.decode() and "Nothing was stored" in response.content.decode()
    assert not Evidence.objects.exists()


@pytest.mark.parametrize("data,expected_type", [
    (b"<html><script>alert(1)</script></html>", "application/octet-stream"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "application/octet-stream"),
    (b"%PDF-1.4\n%...", "application/pdf"),
])
def test_download_is_an_attachment_never_rendered(client, people, release, media, data, expected_type):
    item = release.items.get(key=PLATFORM_ITEM)
    client.force_login(people["engineer"])
    client.post(reverse("evidence-create", args=[release.pk, item.pk]),
                {"kind": "file", "file": SimpleUploadedFile("report.html", data, content_type="text/html")})
    evidence = Evidence.objects.get()
    response = client.get(reverse("evidence-download", args=[release.pk, item.pk, evidence.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == expected_type
    assert response["Content-Disposition"].startswith("attachment;") and "report.html" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert b"".join(response.streaming_content) == data


def test_links_must_be_http_or_https(client, people, release):
    item = release.items.get(key=PLATFORM_ITEM)
    client.force_login(people["engineer"])
    url = reverse("evidence-create", args=[release.pk, item.pk])
    for bad in ("javascript:alert(1)", "file:///etc/passwd", "ftp://x.example.com/a", "not a url"):
        response = client.post(url, {"kind": "link", "url": bad}, HTTP_HX_REQUEST="true")
        assert response.status_code == 400 and "http://" in response.content.decode()
    assert client.post(url, {"kind": "link", "url": "https://ci.example.com/run/1"}).status_code == 302
    assert Evidence.objects.get().url == "https://ci.example.com/run/1"


def test_evidence_is_immutable(people, release):
    item = release.items.get(key=PLATFORM_ITEM)
    evidence = evidence_services.evidence_add_note(item=item, text="first", by=people["engineer"])
    evidence.note = "changed"
    with pytest.raises(ValueError, match="immutable"):
        evidence.save()


def test_comments_render_markdown_safely(client, people, release):
    item = release.items.get(key=PLATFORM_ITEM)
    client.force_login(people["engineer"])
    url = reverse("comment-create", args=[release.pk, item.pk])
    response = client.post(url, {"body": "**ok** <script>alert(1)</script> [x](javascript:alert(1))"},
                           HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and "Comment added." in body
    assert "<strong>ok</strong>" in body and "<script>" not in body and 'href="javascript' not in body
    assert client.post(url, {"body": "   "}, HTTP_HX_REQUEST="true").status_code == 400
    assert AuditEvent.objects.filter(action="checklists.comment.added").count() == 1


def test_item_page_shows_history_guidance_and_includes(client, people, release):
    item = release.items.exclude(guidance="").first()
    item_services.item_set_status(item=item, status="in_progress", by=people["manager"], expected_version=1)
    client.force_login(people["auditor"])
    page = client.get(reverse("item-detail", args=[release.pk, item.pk])).content.decode()
    assert "item.status_changed" in page and "status=open" in page and "status=in_progress" in page
    assert "Guidance" in page
    assert "You can read this item but not change it" in page
    assert 'name="status"' not in page
