"""Release items, addressed by key: list with filters, read, change (optimistic lock), bulk status."""
import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import Http404
from ninja import Field, Query, Router, Schema

from api.auth import audited
from api.endpoints.releases import release_for
from api.errors import ApiError, conflict_details, responses
from api.pagination import Id, Number, Page, PageParams, paginate
from checklists import permissions, selectors
from checklists.models import ReleaseItem, TemplateSection
from checklists.services.items import (
    SETTABLE_STATUSES,
    ItemConflict,
    ItemsConflict,
    item_assign,
    item_set_due_date,
    item_set_status,
    items_change,
)

router = Router(tags=["items"])
BULK_MAX = 1000
KEY = r"^[A-Za-z0-9._-]+$"

STATUS_ENUM = {"enum": [str(s) for s in SETTABLE_STATUSES]}


class ItemOut(Schema):
    key: str
    id: int
    text: str
    section: str
    section_title: str
    parent_key: str | None
    required: bool
    severity: str
    status: str
    owner_team: str | None
    assignee: str | None
    due_date: datetime.date | None
    version: int
    probe_id: str | None
    probe_status: str | None
    probe_checked_at: datetime.datetime | None
    decided_by_probe: bool
    changed_by: str | None
    changed_at: datetime.datetime
    evidence: int


class ItemFilters(Schema):
    status: ReleaseItem.Status | None = None
    team: str | None = Field(None, max_length=60, description="Owning team's slug, or `none`.")
    section: str | None = Field(None, max_length=200, description="Section key; includes its subsections.")
    key: str | None = Field(None, max_length=200, description="Item key, exact.")
    key_prefix: str | None = Field(None, max_length=200)
    assignee: str | None = Field(None, max_length=150, description="Username, or `none`.")


class ItemChange(Schema):
    version: Number = Field(..., description="The item's version as you read it (optimistic lock).")
    status: str | None = Field(None, json_schema_extra=STATUS_ENUM)
    assignee: str | None = Field(None, max_length=150, description="Username; null unassigns.")
    due_date: datetime.date | None = None
    reason: str | None = Field(None, max_length=2000, description="Why: needed to set an item a probe failed to "
                                                                   "done or not_applicable (an override).")


class BulkEntry(Schema):
    key: str = Field(..., min_length=1, max_length=200)
    version: Number
    status: str | None = Field(None, json_schema_extra=STATUS_ENUM, description="Overrides the call's status.")


class BulkStatusIn(Schema):
    status: str | None = Field(None, json_schema_extra=STATUS_ENUM)
    reason: str | None = Field(None, max_length=2000, description="Why, for every item: needed for overrides of "
                                                                   "failed probes.")
    items: list[BulkEntry] = Field(..., min_length=1, max_length=BULK_MAX)


class BulkOut(Schema):
    changed: int
    unchanged: int
    items: list[ItemOut]


def item_out(item: ReleaseItem) -> dict:
    return {
        "key": item.key, "id": item.pk, "text": item.text, "section": item.section.key,
        "section_title": item.section.title, "parent_key": item.parent_key or None, "required": item.required,
        "severity": item.severity, "status": item.status,
        "owner_team": item.owner_team.slug if item.owner_team else None,
        "assignee": item.assignee.get_username() if item.assignee else None, "due_date": item.due_date,
        "version": item.version, "probe_id": item.probe_id or None, "probe_status": item.probe_status or None,
        "probe_checked_at": item.probe_checked_at, "decided_by_probe": item.decided_by_probe,
        "changed_by": item.changed_by.get_username() if item.changed_by else None, "changed_at": item.changed_at,
        "evidence": getattr(item, "evidence_count", 0),
    }


def _items(release):
    return selectors.release_items(release).select_related("section", "changed_by")


def item_for(request, release_id: Id, key: str, *, release=None) -> ReleaseItem:
    release = release or release_for(request, release_id)
    item = _items(release).filter(key=key).first()
    if item is None:
        raise Http404(f"Release {release.pk} has no item {key}.")
    item.release = release
    return item


def _sections_under(release, key: str) -> list[int]:
    rows = list(TemplateSection.objects.filter(version_id=release.template_version_id).values_list("pk", "key",
                                                                                                   "parent_id"))
    root = next((pk for pk, k, _ in rows if k == key), None)
    if root is None:
        return []
    parents = {pk: parent for pk, _, parent in rows}
    found = []
    for pk in parents:
        node = pk
        while node is not None and node != root:
            node = parents[node]
        if node == root:
            found.append(pk)
    return found


@router.get("/releases/{release_id}/items", response=responses({200: Page[ItemOut]}), summary="List items")
def item_list(request, release_id: Id, filters: Query[ItemFilters], page: Query[PageParams]):
    release = release_for(request, release_id)
    items = _items(release)
    if filters.status:
        items = items.filter(status=filters.status)
    if filters.team:
        items = items.filter(owner_team__isnull=True) if filters.team == "none" else \
            items.filter(owner_team__slug=filters.team)
    if filters.assignee:
        items = items.filter(assignee__isnull=True) if filters.assignee == "none" else \
            items.filter(assignee__username=filters.assignee)
    if filters.section:
        items = items.filter(section_id__in=_sections_under(release, filters.section))
    if filters.key:
        items = items.filter(key=filters.key)
    if filters.key_prefix:
        items = items.filter(key__startswith=filters.key_prefix)
    return paginate(items, page, item_out)


# Before the item routes: /items/bulk-status must not be read as an item key.
@router.post("/releases/{release_id}/items/bulk-status", response=responses({200: BulkOut}),
             summary="Set the status of many items in one call: all or nothing")
def item_bulk_status(request, release_id: Id, data: BulkStatusIn):
    """Every entry is checked first (it exists, you may change it, its version is current); one problem
    refuses the whole call with the list of problems. The changes then run in one transaction."""
    release = release_for(request, release_id)
    keys = [entry.key for entry in data.items]
    if len(set(keys)) != len(keys):
        raise ApiError(422, "validation_error", "An item key appears twice in the call.")
    wanted = {entry.key: _status(entry.status or data.status or "", f"items[{n}].status")
              for n, entry in enumerate(data.items)}
    items = {item.key: item for item in release.items.select_related("release", "changed_by").filter(key__in=keys)}
    missing = [k for k in keys if k not in items]
    if missing:
        raise ApiError(404, "not_found", f"Release {release.pk} has no item {missing[0]}" +
                       (f" (and {len(missing) - 1} more)." if len(missing) > 1 else "."), {"missing": missing})
    refused = [k for k in keys if not permissions.can_change_item(request.user, items[k])]
    if refused:
        raise ApiError(403, "forbidden", f"You may not change {len(refused)} of these items; nothing was saved.",
                       {"refused": refused})
    stale = [{"key": e.key, "version": items[e.key].version, "sent": e.version,
              "changed_by": items[e.key].changed_by.get_username() if items[e.key].changed_by else None}
             for e in data.items if items[e.key].version != e.version]
    if stale:
        raise ApiError(409, "conflict", f"{len(stale)} item(s) changed since you read them; nothing was saved.",
                       {"conflicts": stale})
    # One call of the entry point per status asked for, in one transaction: a fixed number of queries
    # however many items.
    by_status: dict[str, list[ReleaseItem]] = {}
    for entry in data.items:
        item = items[entry.key]
        item.release = release
        by_status.setdefault(wanted[entry.key], []).append(item)
    versions = {items[entry.key].pk: entry.version for entry in data.items}
    try:
        with transaction.atomic(), audited(request):
            done = [items_change(items=group, changes={"status": status}, by=request.user, versions=versions,
                                 reason=data.reason or "") for status, group in by_status.items()]
    except ItemsConflict as exc:
        raise ApiError(409, "conflict", f"{exc} Nothing was saved.",
                       {"conflicts": [conflict_details(c) for c in exc.conflicts]}) from None
    changed, unchanged = sum(len(d.changed) for d in done), sum(len(d.unchanged) for d in done)
    rows = _items(release).filter(key__in=keys)
    return {"changed": changed, "unchanged": unchanged, "items": [item_out(i) for i in rows]}


@router.get("/releases/{release_id}/items/{key}", response=responses({200: ItemOut}), summary="Read an item")
def item_read(request, release_id: Id, key: str):
    return item_out(item_for(request, release_id, key))


def _user(username: str):
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise ApiError(400, "invalid", f"No user {username}.", {"field": "assignee"})
    return user


def _status(value: str, field: str = "status") -> str:
    if value not in SETTABLE_STATUSES:
        allowed = ", ".join(SETTABLE_STATUSES)
        raise ApiError(422, "validation_error", f"“{value}” is not a status you may set ({allowed}; waived comes "
                       f"from a granted waiver).", {"field": field})
    return value


@router.patch("/releases/{release_id}/items/{key}", response=responses({200: ItemOut}),
              summary="Change an item's status, assignee or due date (send the version you read)")
def item_change(request, release_id: Id, key: str, data: ItemChange):
    item = item_for(request, release_id, key)
    fields = data.model_fields_set - {"version", "reason"}
    if not fields:
        raise ApiError(422, "validation_error", "Send at least one of status, assignee, due_date.")
    if "status" in fields and data.status is None:
        raise ApiError(422, "validation_error", "status cannot be null.", {"field": "status"})
    permissions.require_change(request.user, item)
    version = data.version
    with transaction.atomic(), audited(request):
        if "status" in fields:
            item = item_set_status(item=item, status=_status(data.status), by=request.user, expected_version=version,
                                   reason=data.reason or "")
            version = item.version
        if "assignee" in fields:
            assignee = _user(data.assignee) if data.assignee else None
            item = item_assign(item=item, assignee=assignee, by=request.user, expected_version=version)
            version = item.version
        if "due_date" in fields:
            item = item_set_due_date(item=item, due_date=data.due_date, by=request.user, expected_version=version)
    return item_out(item_for(request, release_id, key, release=item.release))
