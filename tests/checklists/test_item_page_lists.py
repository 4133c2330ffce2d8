"""The item page shows the newest rows of its evidence, comments and history, and says how many it
left out; `?all=<list>` shows the whole list. An item judged by a probe for months keeps a page that
costs the same as a new one's."""
import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from checklists.services import comments as comment_services
from checklists.services import evidence as evidence_services
from checklists.services import items as item_services
from checklists.signoff import waivers
from checklists.views.items import ITEM_PAGE_LATEST

pytestmark = pytest.mark.django_db
MORE = ITEM_PAGE_LATEST + 7


def _page(client, item, **params):
    response = client.get(reverse("item-detail", args=[item.release_id, item.pk]), params)
    assert response.status_code == 200
    return response.content.decode()


def _item(release):
    return release.items.filter(owner_team__slug="platform").order_by("order").first()


def test_comments_show_the_newest_and_all_of_them_on_request(client, people, release):
    item = _item(release)
    for n in range(MORE):
        comment_services.comment_add(item=item, body=f"comment number {n:03d}", by=people["manager"])
    client.force_login(people["engineer"])
    page = _page(client, item)
    assert f"Comments ({MORE})" in page
    shown = re.findall(r"comment number (\d{3})", page)
    assert shown == [f"{n:03d}" for n in range(MORE - ITEM_PAGE_LATEST, MORE)]  # the newest, oldest first
    assert f"The newest {ITEM_PAGE_LATEST} of {MORE} comments are shown" in page
    assert f"?all=comments#comments\">Show all {MORE}</a>" in page
    everything = _page(client, item, all="comments")
    assert re.findall(r"comment number (\d{3})", everything) == [f"{n:03d}" for n in range(MORE)]
    assert "are shown" not in everything.split('id="comments"')[1].split("</section>")[0]


def test_a_new_comment_comes_back_among_the_newest(client, people, release):
    item = _item(release)
    for n in range(MORE):
        comment_services.comment_add(item=item, body=f"comment number {n:03d}", by=people["manager"])
    client.force_login(people["engineer"])
    response = client.post(reverse("comment-create", args=[item.release_id, item.pk]), {"body": "the latest word"},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    part = response.content.decode()
    assert "the latest word" in part and f"Comments ({MORE + 1})" in part
    assert len(re.findall(r'<article class="comment">', part)) == ITEM_PAGE_LATEST
    assert f"comment number {MORE - ITEM_PAGE_LATEST:03d}" not in part  # pushed out by the new one


def test_evidence_and_history_are_bounded_alike(client, people, release):
    item = _item(release)
    for n in range(MORE):
        evidence_services.evidence_add_note(item=item, text=f"note number {n:03d}", by=people["engineer"])
    for n in range(MORE):
        item.refresh_from_db()
        item_services.item_change(item=item, changes={"status": "in_progress" if n % 2 == 0 else "open"},
                                  by=people["engineer"], expected_version=item.version)
    client.force_login(people["engineer"])
    page = _page(client, item)
    assert f"Evidence ({MORE})" in page
    assert len(re.findall(r"note number \d{3}", page)) == ITEM_PAGE_LATEST
    assert f"note number {MORE - 1:03d}" in page and "note number 000" not in page
    history = page.split('id="history"')[1]
    total = int(re.search(r"History \((\d+) events\)", history).group(1))
    assert total >= MORE
    assert history.count("<tr><td><time") == ITEM_PAGE_LATEST
    assert f"?all=history#history\">Show all {total}</a>" in history
    whole = _page(client, item, all="history").split('id="history"')[1]
    assert whole.startswith(" open>") and whole.count("<tr><td><time") == total
    assert len(re.findall(r"note number \d{3}", _page(client, item, all="evidence"))) == MORE


def test_a_short_list_is_drawn_whole_without_a_note(client, people, release):
    item = _item(release)
    comment_services.comment_add(item=item, body="only one", by=people["manager"])
    client.force_login(people["engineer"])
    page = _page(client, item)
    assert "Comments (1)" in page and "only one" in page and "are shown" not in page


def test_the_history_names_the_items_waivers_and_only_the_history_reads_them(client, people, release):
    item = _item(release)
    waiver = waivers.waiver_request(item=item, by=people["engineer"], justification="later",
                                    expires_on=timezone.localdate() + datetime.timedelta(days=3))
    waivers.waiver_decide(waiver=waiver, by=people["approver"], grant=True)
    other = release.items.exclude(pk=item.pk).filter(owner_team__slug="platform").first()
    waivers.waiver_request(item=other, by=people["engineer"], justification="another item's",
                           expires_on=timezone.localdate() + datetime.timedelta(days=3))
    client.force_login(people["engineer"])
    history = _page(client, item).split('id="history"')[1]
    assert history.count("waiver.") == 2  # requested and granted, not the other item's request
    # The comment form's answer draws the comments alone: the history (and its waivers) are not read.
    url = reverse("comment-create", args=[item.release_id, item.pk])
    client.post(url, {"body": "warm"}, HTTP_HX_REQUEST="true")
    with CaptureQueriesContext(connection) as queries:
        assert client.post(url, {"body": "the word"}, HTTP_HX_REQUEST="true").status_code == 200
    assert not [q for q in queries.captured_queries if "checklists_waiver" in q["sql"]]
