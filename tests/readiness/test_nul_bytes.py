"""NUL characters in a query string or a form field: a 400 naming the field, never a 500."""
import datetime

import pytest
from django.urls import reverse

from checklists.models import Waiver

pytestmark = pytest.mark.django_db

ITEM_KEY = "kubernetes-cluster.cluster-has-at-least-3-nodes-for-high-availability"


def _assert_refused(response, field):
    assert response.status_code == 400
    text = response.content.decode()
    assert f"'{field}'" in text and "NUL" in text, text


@pytest.mark.parametrize("query, field", [
    ("?q=%00", "q"),
    ("?service=%00", "service"),
    ("?state=in_progress&team=%00", "team"),
    ("?q=a%00b", "q"),
])
def test_dashboard_refuses_nul_in_the_query(client, release, people, query, field):
    client.force_login(people["manager"])
    _assert_refused(client.get("/releases/" + query), field)


@pytest.mark.parametrize("query, field", [
    ("?q=%00", "q"),
    ("?status=open&team=%00", "team"),
    ("?status=open&assignee=%00", "assignee"),
])
def test_release_page_refuses_nul_in_the_query(client, release, people, query, field):
    client.force_login(people["manager"])
    _assert_refused(client.get(f"/releases/{release.pk}/{query}"), field)


def test_a_nul_in_a_parameter_name_is_refused_too(client, release, people):
    client.force_login(people["manager"])
    _assert_refused(client.get("/releases/?a%00b=1"), "a%00b")


def test_waiver_justification_with_nul_is_refused_and_nothing_is_stored(client, release, people):
    tomorrow = datetime.date.today() + datetime.timedelta(days=1)
    item = release.items.get(key=ITEM_KEY)
    client.force_login(people["engineer"])
    response = client.post(reverse("waiver-create", args=[release.pk, item.pk]),
                           {"justification": "two nodes\x00", "expires_on": tomorrow.isoformat()})
    _assert_refused(response, "justification")
    assert not Waiver.objects.exists()


def test_reopen_reason_with_nul_is_refused(client, release, people):
    client.force_login(people["manager"])
    response = client.post(reverse("signoff-reopen", args=[release.pk]), {"reason": "\x00"})
    _assert_refused(response, "reason")


def test_requirement_name_with_nul_is_refused_and_nothing_is_stored(client, release, people):
    client.force_login(people["manager"])
    before = release.requirements.count()
    response = client.post(reverse("requirement-create", args=[release.pk]), {"name": "QA\x00", "role": "approver"})
    _assert_refused(response, "name")
    assert release.requirements.count() == before


def test_a_multipart_field_with_nul_is_refused(client, release, people):
    item = release.items.get(key=ITEM_KEY)
    client.force_login(people["engineer"])
    response = client.post(reverse("comment-create", args=[release.pk, item.pk]), {"body": "hi\x00"})
    _assert_refused(response, "body")


def test_ordinary_queries_still_work(client, release, people):
    client.force_login(people["manager"])
    assert client.get("/releases/?q=todo").status_code == 200
    assert client.get(f"/releases/{release.pk}/?q=backup").status_code == 200
