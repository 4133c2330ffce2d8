"""Reads that join several tables, shaped for pages and exports.

Each page reads in a fixed number of queries: counts come from annotations and subqueries, never from
attribute access in templates.
"""
import datetime
import functools
from dataclasses import dataclass, field
from functools import cached_property

from django.db.models import (BigIntegerField, CharField, Count, Exists, IntegerField, OuterRef, Q, QuerySet,
                              Subquery, Value)
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from checklists import permissions
from checklists.models import (AuditEvent, Comment, Evidence, Release, ReleaseItem, Team, TemplateSection,
                               TemplateVersion, Waiver)

PROGRESS_COUNTS = ("item_total", "item_complete", "item_blocking", "item_overdue")


def attach_progress(releases, *, today: datetime.date | None = None) -> list[Release]:
    """Set item counts on each of `releases` (a page of them, or one): total, complete, blocking and
    overdue, and `progress` in percent. One query, whatever the number of releases.

    One grouped scan of the page's items with a filter per count, rather than a correlated subquery
    per count and release: the covering index release_item_progress_idx holds every column it reads,
    so PostgreSQL answers from the index alone. It runs after the page is cut, so the paginator's COUNT
    and the LIMIT never pay for it."""
    releases = list(releases)
    today = today or timezone.localdate()
    complete = Q(status__in=ReleaseItem.COMPLETE)
    counts = {row["release_id"]: row for row in (
        ReleaseItem.objects.filter(release_id__in=[release.pk for release in releases]).order_by()
        .values("release_id").annotate(
            item_total=Count("pk"), item_complete=Count("pk", filter=complete),
            item_blocking=Count("pk", filter=Q(required=True, status=ReleaseItem.Status.FAILED)),
            item_overdue=Count("pk", filter=Q(due_date__lt=today) & ~complete)))} if releases else {}
    for release in releases:
        row = counts.get(release.pk, {})
        for name in PROGRESS_COUNTS:
            setattr(release, name, row.get(name, 0))
        release.progress = percent(release.item_complete, release.item_total)
    return releases


def percent(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


@dataclass
class ReleaseFilters:
    state: str = ""
    environment: str = ""
    service: str = ""
    team: str = ""  # team slug
    q: str = ""

    @classmethod
    def from_query(cls, params) -> "ReleaseFilters":
        return cls(**{name: (params.get(name) or "").strip()[:100] for name in cls.__dataclass_fields__})

    @property
    def active(self) -> bool:
        return any(vars(self).values())


def dashboard_releases(user, filters: ReleaseFilters) -> QuerySet:
    """The releases a user sees, filtered, newest first; attach_progress() counts a page's items."""
    return filtered_releases(user, filters).select_related("release_manager").order_by("-created_at", "-pk")


def filtered_releases(user, filters: ReleaseFilters) -> QuerySet:
    """The releases a user sees that match the dashboard's filters."""
    releases = permissions.visible_releases(user)
    if filters.state:
        releases = releases.filter(state=filters.state)
    if filters.environment:
        releases = releases.filter(environment=filters.environment)
    if filters.service:
        releases = releases.filter(service=filters.service)
    if filters.team:
        releases = releases.filter(Exists(ReleaseItem.objects.filter(release=OuterRef("pk"),
                                                                     owner_team__slug=filters.team)))
    if filters.q:
        item_text = ReleaseItem.objects.filter(release=OuterRef("pk"), text__icontains=filters.q)
        releases = releases.filter(Q(service__icontains=filters.q) | Q(version__icontains=filters.q)
                                   | Q(environment__icontains=filters.q) | Q(description__icontains=filters.q)
                                   | Q(Exists(item_text)))
    return releases


def dashboard_choices(user) -> dict:
    """Values for the filter drop-downs: two queries."""
    releases = permissions.visible_releases(user)
    pairs = releases.order_by().values_list("environment", "service").distinct()
    return {
        "states": Release.State.choices,
        "environments": sorted({env for env, _ in pairs}),
        "services": sorted({service for _, service in pairs}),
        "teams": list(Team.objects.order_by("name")),
    }


# The release page.


def _count(model, **outer) -> Subquery:
    rows = model.objects.filter(item=OuterRef("pk"), **outer).order_by().values("item")
    return Coalesce(Subquery(rows.annotate(n=Count("pk")).values("n"), output_field=IntegerField()), Value(0))


def release_items(release: Release) -> QuerySet:
    """The items of a release with everything a row shows, in one query."""
    return (release.items.select_related("owner_team", "assignee")
            .annotate(evidence_count=_count(Evidence), comment_count=_count(Comment))
            .order_by("order"))


@dataclass
class ItemFilters:
    status: str = ""
    team: str = ""  # team slug, or "none"
    assignee: str = ""  # username, or "none"
    mine: bool = False
    blocking: bool = False
    overdue: bool = False
    q: str = ""

    @classmethod
    def from_query(cls, params) -> "ItemFilters":
        text = {name: (params.get(name) or "").strip()[:100] for name in ("status", "team", "assignee", "q")}
        flags = {name: params.get(name) == "1" for name in ("mine", "blocking", "overdue")}
        return cls(**text, **flags)

    @property
    def active(self) -> bool:
        return any(vars(self).values())

    def apply(self, items: QuerySet, user) -> QuerySet:
        if self.status == "incomplete":
            items = items.exclude(status__in=ReleaseItem.COMPLETE)
        elif self.status:
            items = items.filter(status=self.status)
        if self.team == "none":
            items = items.filter(owner_team__isnull=True)
        elif self.team:
            items = items.filter(owner_team__slug=self.team)
        if self.assignee == "none":
            items = items.filter(assignee__isnull=True)
        elif self.assignee:
            items = items.filter(assignee__username=self.assignee)
        if self.mine:
            items = items.filter(permissions.item_filter_for(user))
        if self.blocking:
            items = items.filter(required=True, status=ReleaseItem.Status.FAILED)
        if self.overdue:
            items = items.filter(due_date__lt=timezone.localdate()).exclude(status__in=ReleaseItem.COMPLETE)
        if self.q:
            items = items.filter(Q(text__icontains=self.q) | Q(key__icontains=self.q))
        return items


@dataclass
class SectionNode:
    section: TemplateSection
    children: list["SectionNode"] = field(default_factory=list)
    items: list[ReleaseItem] = field(default_factory=list)
    total: int = 0
    complete: int = 0
    blocking: int = 0
    overdue: int = 0
    own: int = 0  # items of this section itself, subsections not included
    matching: int = 0  # of those, the ones the page's filters let through (set by the release page)

    @property
    def pk(self):
        return self.section.pk

    @property
    def progress(self) -> int:
        return percent(self.complete, self.total)

    @cached_property
    def shown(self) -> bool:
        """Drawn at all: it has rows to show or to load, or a subsection has. Asked once the page's
        rows are placed (each node's answer is kept, so the tree is walked once)."""
        return bool(self.items or self.matching) or any(child.shown for child in self.children)

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


@functools.lru_cache(maxsize=64)
def version_sections(version_id: int) -> tuple[TemplateSection, ...]:
    """The sections of a checklist version, in order, read once per process: a published version
    never changes (checklists.models.templates), and every release page and change asks for them.
    Shared between requests, so read-only."""
    return tuple(TemplateSection.objects.filter(version_id=version_id).order_by("order"))


def section_tree(release: Release, *, today=None) -> tuple[list[SectionNode], dict[int, SectionNode]]:
    """The release's sections nested as in the template, with progress, blocking and overdue counts
    over all their items (subsections included). One query, once the version's sections are read."""
    today = today or timezone.localdate()
    nodes = {s.pk: SectionNode(s) for s in version_sections(release.template_version_id)}
    roots = []
    for node in nodes.values():
        parent = nodes.get(node.section.parent_id)
        (parent.children if parent else roots).append(node)
    complete = Q(status__in=ReleaseItem.COMPLETE)
    counts = (release.items.order_by().values("section_id").annotate(
        total=Count("pk"), complete=Count("pk", filter=complete),
        blocking=Count("pk", filter=Q(required=True, status=ReleaseItem.Status.FAILED)),
        overdue=Count("pk", filter=Q(due_date__lt=today) & ~complete)))
    for row in counts:
        node = nodes.get(row["section_id"])
        if node is not None:
            node.own = row["total"]
        while node is not None:
            for name in ("total", "complete", "blocking", "overdue"):
                setattr(node, name, getattr(node, name) + row[name])
            node = nodes.get(node.section.parent_id)
    return roots, nodes


def walk(roots: list[SectionNode]):
    """Every section of the tree in checklist order."""
    for root in roots:
        yield from root.walk()


def section_matches(items: QuerySet) -> dict[int, int]:
    """How many of `items` (a filtered queryset of one release's items) each section holds. One query."""
    return dict(items.order_by().values_list("section_id").annotate(n=Count("pk")).values_list("section_id", "n"))


def section_items(release: Release, section: TemplateSection) -> QuerySet:
    """The release's items in `section` and its subsections, in checklist order. Two queries."""
    children: dict[int, list[int]] = {}
    for pk, parent_id in TemplateSection.objects.filter(version_id=release.template_version_id) \
            .values_list("pk", "parent_id"):
        children.setdefault(parent_id, []).append(pk)
    ids, todo = [], [section.pk]
    while todo:
        pk = todo.pop()
        ids.append(pk)
        todo.extend(children.get(pk, []))
    return release.items.filter(section_id__in=ids).select_related("owner_team", "assignee").order_by("order")


def release_totals(nodes: dict[int, SectionNode]) -> dict:
    """Progress, blocking and overdue items of the whole release, from the section tree: no query."""
    roots = [n for n in nodes.values() if n.section.parent_id not in nodes]
    totals = {name: sum(getattr(n, name) for n in roots) for name in ("total", "complete", "blocking", "overdue")}
    return {**totals, "progress": percent(totals["complete"], totals["total"])}


def release_cursor() -> Coalesce:
    """The live view's cursor, as an annotation of releases: the id of the release's newest audit
    event, 0 when it has none.

    Audit ids are handed out under the audit lock, held until commit, so they follow commit order:
    a change committed after this read always gets a larger id. Read it before the items the page
    shows (with the release itself), so that a change committed in between comes back once more
    rather than never. The index on audit events' release and id serves it."""
    newest = AuditEvent.objects.filter(release=OuterRef("pk")).order_by("-id").values("id")[:1]
    return Coalesce(Subquery(newest, output_field=BigIntegerField()), Value(0))


def newest_template_version() -> Subquery:
    """As an annotation of releases: the number of the newest version of the release's checklist
    when it is newer than the release's own, else None."""
    newer = (TemplateVersion.objects.filter(template=OuterRef("template_version__template"),
                                            number__gt=OuterRef("template_version__number"))
             .order_by("-number").values("number")[:1])
    return Subquery(newer, output_field=IntegerField())


def _event_ids(events: QuerySet, object_type: str) -> QuerySet:
    return (events.filter(object_type=object_type).order_by()
            .annotate(object_pk=Cast("object_id", BigIntegerField())).values("object_pk"))


def release_changes(user, release_pk: int, since: int):
    """(release, cursor, items changed) for the live view: the items named by the release's audit
    events after `since` (an audit event id, see release_cursor), and the id of the newest of them.

    When nothing is new this is one query: the visibility check and "any audit event after the
    cursor?" are the same SELECT, and it answers (release, since, []). Otherwise one more query
    reads the items touched: those an event names (item changes, evidence, comments, probe
    decisions), those of the waivers it names, and those a finished probe run attached results to
    (a verdict repeated adds evidence without an item event)."""
    newest = (AuditEvent.objects.filter(release=OuterRef("pk"), id__gt=since).order_by("-id").values("id")[:1])
    release = (permissions.visible_releases(user).filter(pk=release_pk).select_related("release_manager")
               .annotate(newest_event=Subquery(newest)).first())
    if release is None or release.newest_event is None:
        return release, since, []
    events = AuditEvent.objects.filter(release=release, id__gt=since, id__lte=release.newest_event)
    touched = (Q(pk__in=_event_ids(events, "releaseitem"))
               | Q(pk__in=Waiver.objects.filter(pk__in=_event_ids(events, "waiver")).values("item_id"))
               # The reverse name of probes' results: checklists does not import the probes app.
               | Q(pk__in=release.items.filter(probe_results__run_id__in=_event_ids(events, "proberun"))
                   .values("pk")))
    return release, release.newest_event, list(release_items(release).filter(touched))


# The item page.


class Latest:
    """The newest `limit` rows of one of an item's lists (evidence, comments, history; None: all of
    them), oldest first as the page reads them, and how many the list holds in all.

    Read when a template first asks, like the queryset it wraps: a part of the item page that does
    not show the list reads nothing. One query, and a count only when there are more rows than shown:
    an item a probe has judged for months must not draw every verdict it ever attached."""

    def __init__(self, rows: QuerySet, limit: int | None):
        self._rows, self._limit = rows, limit  # `rows` ordered oldest first

    @cached_property
    def _read(self) -> tuple[list, int]:
        if self._limit is None:
            everything = list(self._rows)
            return everything, len(everything)
        newest = list(self._rows.reverse()[:self._limit + 1])
        total = len(newest) if len(newest) <= self._limit else self._rows.count()
        return newest[:self._limit][::-1], total

    @property
    def rows(self) -> list:
        return self._read[0]

    @property
    def total(self) -> int:
        return self._read[1]

    @property
    def hidden(self) -> int:
        return self.total - len(self.rows)


def item_history(item: ReleaseItem) -> QuerySet:
    """Audit events about the item and its waivers, oldest first. Lazy, like any queryset: the
    waivers are a subquery, so a part of the item page that does not show the history reads nothing."""
    waiver_ids = Waiver.objects.filter(item=item).values(as_text=Cast("pk", CharField()))
    return AuditEvent.objects.filter(
        Q(object_type="releaseitem", object_id=str(item.pk)) | Q(object_type="waiver", object_id__in=waiver_ids)
    ).order_by("id")


# Work lists across releases.


def open_releases(user) -> QuerySet:
    """The releases the user sees that are still being worked on (not approved)."""
    return permissions.visible_releases(user).filter(state__in=Release.OPEN_STATES)


def work_items(user, *, only_open: bool = True) -> QuerySet:
    """Items of the open releases the user sees (not approved: finished work is not work to do), with
    release and team, soonest due first. Open items only unless `only_open` is False. Bounded by the
    open releases, not by every release ever made (release_item_open_work_idx)."""
    items = (ReleaseItem.objects.filter(release__in=open_releases(user))
             .select_related("release", "owner_team", "assignee")
             .annotate(evidence_count=_count(Evidence), comment_count=_count(Comment)))
    if only_open:
        items = items.exclude(status__in=ReleaseItem.COMPLETE)
    return items.order_by(Coalesce("due_date", Value(datetime.date.max)), "release__service", "order")


def team_rollup(user, *, today=None) -> list[dict]:
    """For every team: open, overdue and blocking items across the open releases the user sees. Two
    queries."""
    today = today or timezone.localdate()
    open_items = (ReleaseItem.objects.filter(release__in=open_releases(user))
                  .exclude(status__in=ReleaseItem.COMPLETE))
    rows = {row["owner_team"]: row for row in open_items.order_by().values("owner_team").annotate(
        open=Count("pk"),
        overdue=Count("pk", filter=Q(due_date__lt=today)),
        blocking=Count("pk", filter=Q(required=True, status=ReleaseItem.Status.FAILED)),
        releases=Count("release", distinct=True),
    )}
    empty = {"open": 0, "overdue": 0, "blocking": 0, "releases": 0}
    result = [{"team": team, **{k: rows.get(team.pk, empty)[k] for k in empty}} for team in Team.objects.all()]
    if None in rows:
        result.append({"team": None, **{k: rows[None][k] for k in empty}})
    return result
