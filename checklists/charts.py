"""Charts drawn on the server as SVG: a release's burndown, the blockers across releases, and the
team × section heat map. Plain SVG with presentation attributes and CSS classes from our stylesheet:
no script, no inline style, so the page's Content-Security-Policy holds, and no JavaScript build.

pygal was the other candidate; its SVG carries a <style> element and tooltip script, which a policy
without 'unsafe-inline' blocks when the chart sits in the page."""
import datetime
from dataclasses import dataclass

from django.db.models import Count
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe

from checklists import selectors
from checklists.models import AuditEvent, Release, ReleaseItem, Team, TemplateSection


COMPLETE = {str(s) for s in ReleaseItem.COMPLETE}
WIDTH, HEIGHT, PAD_L, PAD_R, PAD_T, PAD_B = 640, 220, 44, 16, 14, 34


# --- Burndown ----------------------------------------------------------------------------------------
def _status_moves(event: dict):
    """(old status, new status) of one item that an audit event records, or None."""
    before, after = event["before"] or {}, event["after"] or {}
    if event["object_type"] == "waiver":
        # A grant makes the item waived; an expiry or revocation gives it back its previous status.
        if after.get("state") == "granted" and before.get("state") != "granted":
            return after.get("previous_status") or ReleaseItem.Status.OPEN, ReleaseItem.Status.WAIVED
        if "item_status" in after:
            return ReleaseItem.Status.WAIVED, after["item_status"]
        return None
    if event["object_type"] != "releaseitem":
        return None
    if after.get("source") in ("waiver", "expiry"):
        return None  # the waiver's own event above counts it (events before the one door had only that)
    if after.get("added"):
        return None, ReleaseItem.Status.OPEN
    if after.get("removed"):
        return before.get("status", ReleaseItem.Status.OPEN), None
    if "status" in before and "status" in after:
        return before["status"], after["status"]
    return None


def _is_open(status) -> int:
    return 1 if status is not None and status not in COMPLETE else 0


def burndown_points(release: Release, *, now=None) -> list[tuple[datetime.datetime, int]]:
    """Open items (not done, not applicable, not waived) over time, from the release's audit trail:
    the count now, walked back through every status change. Costs 2 queries."""
    now = now or timezone.now()
    current = release.items.exclude(status__in=ReleaseItem.COMPLETE).count()
    events = list(AuditEvent.objects.filter(release=release, object_type__in=["releaseitem", "waiver"])
                  .order_by("-id").values("created_at", "object_type", "before", "after"))
    points = [(now, current)]
    count = current
    for event in events:
        moves = _status_moves(event)
        if moves is None:
            continue
        old, new = moves
        delta = _is_open(new) - _is_open(old)
        if delta:
            points.append((event["created_at"], count))
            count -= delta
            points.append((event["created_at"], count))
    points.append((release.created_at, count))
    points.reverse()
    return points


def _x(moment, start, end) -> float:
    span = (end - start).total_seconds() or 1
    return PAD_L + (WIDTH - PAD_L - PAD_R) * max(0.0, min(1.0, (moment - start).total_seconds() / span))


def _y(value, top) -> float:
    return PAD_T + (HEIGHT - PAD_T - PAD_B) * (1 - (value / top if top else 0))


def burndown_svg(release: Release, *, now=None) -> str:
    now = now or timezone.now()
    points = burndown_points(release, now=now)
    start = release.created_at
    target = (datetime.datetime.combine(release.target_date, datetime.time(23, 59), tzinfo=datetime.UTC)
              if release.target_date else None)
    end = max(now, target) if target else now
    if end <= start:
        end = start + datetime.timedelta(hours=1)
    top = max(max(v for _, v in points), 1)
    line = " ".join(f"{_x(t, start, end):.1f},{_y(v, top):.1f}" for t, v in points)
    current = points[-1][1]
    parts = [_axes(top, f"{start:%Y-%m-%d}", f"{end:%Y-%m-%d}")]
    if target:
        x = _x(target, start, end)
        parts.append(f'<line class="chart-target" x1="{x:.1f}" y1="{PAD_T}" x2="{x:.1f}" y2="{HEIGHT - PAD_B}" '
                     f'stroke="#b3261e" stroke-dasharray="4 3"/>'
                     f'<text class="chart-label" x="{x - 4:.1f}" y="{PAD_T + 10}" text-anchor="end" fill="#b3261e">'
                     f'target {release.target_date:%Y-%m-%d}</text>')
        parts.append(f'<line class="chart-ideal" x1="{_x(start, start, end):.1f}" y1="{_y(points[0][1], top):.1f}" '
                     f'x2="{x:.1f}" y2="{_y(0, top):.1f}" stroke="#9aa3b5" stroke-dasharray="2 3"/>')
    parts.append(f'<polyline class="chart-line" points="{line}" fill="none" stroke="#2457c5" stroke-width="2"/>')
    label = (f"Burndown of {release}: {current} open item{'s' if current != 1 else ''} now, "
             f"{points[0][1]} at the start" + (f"; target {release.target_date:%Y-%m-%d}" if target else ""))
    return _svg(label, parts)


def _axes(top: int, left_label: str, right_label: str) -> str:
    bottom = HEIGHT - PAD_B
    return (f'<line x1="{PAD_L}" y1="{PAD_T}" x2="{PAD_L}" y2="{bottom}" stroke="#5b6475"/>'
            f'<line x1="{PAD_L}" y1="{bottom}" x2="{WIDTH - PAD_R}" y2="{bottom}" stroke="#5b6475"/>'
            f'<text class="chart-label" x="{PAD_L - 6}" y="{PAD_T + 4}" text-anchor="end" fill="#5b6475">{top}</text>'
            f'<text class="chart-label" x="{PAD_L - 6}" y="{bottom}" text-anchor="end" fill="#5b6475">0</text>'
            f'<text class="chart-label" x="{PAD_L}" y="{HEIGHT - 12}" fill="#5b6475">{escape(left_label)}</text>'
            f'<text class="chart-label" x="{WIDTH - PAD_R}" y="{HEIGHT - 12}" text-anchor="end" fill="#5b6475">'
            f'{escape(right_label)}</text>')


def _svg(label: str, parts: list[str]) -> str:
    return mark_safe(  # noqa: S308 - every dynamic text above is escaped or numeric
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(label)}</title>{"".join(parts)}</svg>')


# --- Blockers across releases ---------------------------------------------------------------------------
TREND_RELEASES = 20


def blocker_trend_svg(releases: list[Release]) -> str:
    """Open blockers (failed required items) of `releases`, the latest the dashboard shows (newest
    first, counted by selectors.attach_progress), drawn oldest first, one bar each, linked to the
    release's blocking items. No query."""
    releases = releases[:TREND_RELEASES][::-1]
    if not releases:
        return ""
    top = max(max(r.item_blocking for r in releases), 1)
    slot = (WIDTH - PAD_L - PAD_R) / len(releases)
    parts = [_axes(top, f"{releases[0].created_at:%Y-%m-%d}", f"{releases[-1].created_at:%Y-%m-%d}")]
    for i, release in enumerate(releases):
        height = (HEIGHT - PAD_T - PAD_B) * release.item_blocking / top
        x = PAD_L + i * slot + slot * 0.15
        title = f"{release}: {release.item_blocking} open blocker{'s' if release.item_blocking != 1 else ''}"
        href = reverse("release-detail", args=[release.pk]) + "?blocking=1"
        parts.append(f'<a href="{href}"><rect class="chart-bar" x="{x:.1f}" y="{HEIGHT - PAD_B - height:.1f}" '
                     f'width="{slot * 0.7:.1f}" height="{max(height, 1):.1f}" fill="#b3261e">'
                     f'<title>{escape(title)}</title></rect></a>')
    total = sum(r.item_blocking for r in releases)
    return _svg(f"Open blockers of the last {len(releases)} releases, oldest first: {total} in all, "
                f"{releases[-1].item_blocking} on the newest", parts)


# --- Team × section heat map ---------------------------------------------------------------------------
@dataclass
class HeatMap:
    sections: list[str]
    rows: list[dict]  # {"team": Team | None, "cells": [(count, level)], "total": n}
    top: int


def team_section_heatmap(user) -> HeatMap:
    """Open items per owning team and top-level section across the open releases the user sees, like
    the rollup beside it (an approved release's open items are no one's work). Three small queries:
    counts per team and section (from the open-work index, no join), the top-level title of each
    section counted, and the teams."""
    counts = list(ReleaseItem.objects.filter(release__in=selectors.open_releases(user))
                  .exclude(status__in=ReleaseItem.COMPLETE).order_by()
                  .values_list("owner_team", "section").annotate(n=Count("pk")))
    top_title = Coalesce("parent__parent__title", "parent__title", "title")
    tops = dict(TemplateSection.objects.filter(pk__in={section for _, section, _ in counts})
                .values_list("pk", top_title))
    table: dict = {}
    sections: dict[str, int] = {}
    for team, section, n in counts:
        cells = table.setdefault(team, {})
        cells[tops[section]] = cells.get(tops[section], 0) + n
        sections[tops[section]] = sections.get(tops[section], 0) + n
    columns = sorted(sections, key=lambda title: (-sections[title], title))
    peak = max((n for cells in table.values() for n in cells.values()), default=0)
    teams = {team.pk: team for team in Team.objects.order_by("name")}
    rows = []
    for key in sorted(table, key=lambda pk: (pk is None, teams[pk].name if pk in teams else "")):
        cells = [(table[key].get(title, 0), _level(table[key].get(title, 0), peak)) for title in columns]
        rows.append({"team": teams.get(key), "cells": cells, "total": sum(n for n, _ in cells)})
    return HeatMap(sections=columns, rows=rows, top=peak)


def _level(count: int, peak: int) -> int:
    """0 for none, then 1-5 by share of the busiest cell."""
    if not count or not peak:
        return 0
    return min(5, 1 + int(4 * count / peak))
