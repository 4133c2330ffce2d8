"""Charts: a release's burndown from its audit trail, the blockers across releases, the heat map."""
import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from checklists import charts
from checklists.models import ReleaseItem
from checklists.services import items as item_services
from checklists.signoff import waivers

pytestmark = pytest.mark.django_db


def test_burndown_follows_every_status_change(people, release):
    items = list(release.items.filter(owner_team__slug="platform").order_by("order")[:5])
    item_services.item_set_status(item=items[0], status="done", by=people["engineer"], expected_version=1)
    item_services.items_bulk_update(release=release, versions={i.pk: i.version for i in items[1:3]},
                                    by=people["manager"], status="not_applicable", reason="not here")
    item_services.item_set_status(item=items[0], status="in_progress", by=people["engineer"], expected_version=2)
    waiver = waivers.waiver_request(item=items[3], by=people["engineer"], justification="later",
                                    expires_on=timezone.localdate() + datetime.timedelta(days=3))
    waivers.waiver_decide(waiver=waiver, by=people["approver"], grant=True)
    values = [v for _, v in charts.burndown_points(release)]
    assert values[0] == 211 and values[-1] == 211 - 3  # two not applicable, one waived; items[0] reopened
    assert min(values) == 211 - 3 and 210 in values
    assert values[-1] == release.items.exclude(status__in=ReleaseItem.COMPLETE).count()


def test_burndown_image(client, people, release):
    release.target_date = timezone.localdate() + datetime.timedelta(days=10)
    release.save()
    client.force_login(people["auditor"])
    response = client.get(reverse("release-burndown", args=[release.pk]))
    assert response["Content-Type"].startswith("image/svg+xml")
    svg = response.content.decode()
    assert svg.startswith("<svg") and "<script" not in svg and "style=" not in svg and "<style" not in svg
    assert f"target {release.target_date:%Y-%m-%d}" in svg and "211 open items now" in svg
    page = client.get(reverse("release-detail", args=[release.pk])).content.decode()
    assert reverse("release-burndown", args=[release.pk]) in page
    client.force_login(people["nobody"])
    assert client.get(reverse("release-burndown", args=[release.pk])).status_code == 404


def test_blocker_trend_on_the_dashboard(client, people, release):
    from tests.factories import seed_release

    second = seed_release(service="other", manager=people["manager"])
    failing = list(second.items.filter(required=True)[:3])
    ReleaseItem.objects.filter(pk__in=[i.pk for i in failing]).update(status="failed")
    client.force_login(people["manager"])
    html = client.get(reverse("dashboard")).content.decode()
    trend = html[html.index('id="blocker-trend"'):]
    assert "Open blockers of the last 2 releases, oldest first: 3 in all, 3 on the newest" in trend
    assert reverse("release-detail", args=[second.pk]) + "?blocking=1" in trend
    assert "<script" not in trend


def test_team_by_section_heat_map(client, people, release):
    heat = charts.team_section_heatmap(people["manager"])
    platform = next(row for row in heat.rows if row["team"] and row["team"].slug == "platform")
    item = release.items.select_related("section__parent").get(
        key="kubernetes-cluster.cluster-has-at-least-3-nodes-for-high-availability")
    top = item.section.parent or item.section
    assert top.parent_id is None
    column = heat.sections.index(top.title)
    count, level = platform["cells"][column]
    from django.db.models import Q

    assert count == release.items.filter(Q(section=top) | Q(section__parent=top), owner_team__slug="platform").count()
    assert count > 0 and 1 <= level <= 5
    assert sum(row["total"] for row in heat.rows) == 211
    client.force_login(people["manager"])
    html = client.get(reverse("team-rollup")).content.decode()
    assert 'class="heatmap"' in html and "1. Infrastructure &amp; Deployment" in html

