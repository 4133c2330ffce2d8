"""Changing release items: status, owner team, assignee, due date (evidence and comments have their
own services, evidence.py and comments.py).

`item_change` is the one door for every change to a release item, whoever makes it (a person in the
browser or the API, a probe run, a waiver): it checks the permission, locks in the one order (item row,
then release row, then the audit chain's lock inside `record`), checks the optimistic lock, writes one
audit event with before and after, records an override of a failed probe, flags drift, tells sign-off
(which supersedes the approvals the change voids), and announces voided approvals. Nothing else writes
a release item's workflow fields.
"""
import datetime
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from checklists.audit import record, record_many
from checklists.models import ChecklistTemplate, Evidence, ItemOverride, Release, ReleaseItem, Team
from checklists import announce, permissions
from checklists.signoff import services as signoff

# What a person may set by hand. "waived" is only reached through a granted waiver (sign-off flow).
SETTABLE_STATUSES = [s for s in ReleaseItem.Status if s != ReleaseItem.Status.WAIVED]
REASON_MAX = 2_000


class Source:
    """Who asks for a change: it decides which permission applies and whether it can be drift."""

    PERSON = "person"  # the browser or the API, with the person's permissions
    PROBE = "probe"  # a probe run's verdict
    WAIVER = "waiver"  # a waiver granted or revoked (the waiver service checked who)
    EXPIRY = "expiry"  # a waiver's date came
    PARAMS = "params"  # a release manager setting the params the item's check judges by
    SYSTEM = (PROBE, EXPIRY)  # changes nobody chose: after approval, they are drift


# The fields each source may write. Probe bookkeeping is never set by a person, and the other way round.
PERSON_FIELDS = {"status", "owner_team", "assignee", "due_date"}
PROBE_FIELDS = {"status", "decided_by_probe", "probe_status", "probe_checked_at", "regressed"}
WAIVER_FIELDS = {"status"}
PARAMS_FIELDS = {"probe_params"}
_ALLOWED = {Source.PERSON: PERSON_FIELDS, Source.PROBE: PROBE_FIELDS, Source.WAIVER: WAIVER_FIELDS,
            Source.EXPIRY: WAIVER_FIELDS, Source.PARAMS: PARAMS_FIELDS}

# The audit action of a change by the fields it touches: one event per change, named by its main field.
_ACTIONS = (
    ("status", "checklists.item.status_changed"),
    ("assignee", "checklists.item.assigned"),
    ("owner_team", "checklists.item.owner_team_changed"),
    ("due_date", "checklists.item.due_date_changed"),
    ("probe_params", "checklists.item.check_params_changed"),
)
ACTION_PROBE = "probes.item.decided"
ACTION_OVERRIDE = "checklists.item.overridden"


class ItemError(ValueError):
    """The change is not valid (unknown status, bad link, file too large); the message says why and
    `code` names the rule, for callers that branch on it."""

    def __init__(self, message: str, code: str = "invalid"):
        super().__init__(message)
        self.code = code


@dataclass(eq=False)
class ItemConflict(Exception):
    """Someone changed the item since the form was loaded: nothing was saved."""

    item: ReleaseItem  # the item as it is now
    field: str
    current: str  # the current value of the field, for people
    changed_by: str
    changed_at: datetime.datetime | None
    code = "conflict"

    def __str__(self):
        when = self.changed_at.strftime("%Y-%m-%d %H:%M:%S %Z") if self.changed_at else "just now"
        return (f"Not saved: {self.changed_by} changed this item at {when}. "
                f"{_LABELS.get(self.field, self.field)} is now “{self.current}”. Review it and try again.")


@dataclass(eq=False)
class VoidsApprovals(Exception):
    """The change would supersede live approvals and the caller has not confirmed it: nothing was saved."""

    approvals: list
    code = "voids_approvals"

    def __str__(self):
        names = ", ".join(f"{a.requirement.name} ({_who(a.approver)})" for a in self.approvals)
        return f"Saving voids {len(self.approvals)} approval(s): {names}. Confirm to save anyway."


_LABELS = {"status": "Status", "assignee": "Assignee", "owner_team": "Owner team", "due_date": "Due date"}


def _display(item: ReleaseItem, field: str) -> str:
    if field == "status":
        return item.get_status_display()
    value = getattr(item, field)
    return str(value) if value else "—"


def _audit_value(item: ReleaseItem, field: str):
    if field == "assignee":
        return item.assignee.get_username() if item.assignee else None
    if field == "owner_team":
        return item.owner_team.slug if item.owner_team else None
    value = getattr(item, field)
    return value.isoformat() if isinstance(value, (datetime.date, datetime.datetime)) else value


def _who(user) -> str:
    if user is None:
        return "a probe or the system"
    return user.get_full_name() or user.get_username()


def _conflict(current: ReleaseItem, field: str) -> ItemConflict:
    return ItemConflict(item=current, field=field, current=_display(current, field),
                        changed_by=_who(current.changed_by), changed_at=current.changed_at)


@dataclass(eq=False)
class ItemsConflict(Exception):
    """Some of the items changed since the caller read them: nothing was saved."""

    conflicts: list[ItemConflict]
    code = "conflict"

    def __str__(self):
        return f"Not saved: {len(self.conflicts)} item(s) changed meanwhile. " + " ".join(map(str, self.conflicts[:3]))


@dataclass
class Changed:
    """What `items_change` did: the items it changed, those that already had the values, and the
    approvals the change voided."""

    changed: list[ReleaseItem]
    unchanged: list[ReleaseItem]
    voided: list


def items_change(*, items: list[ReleaseItem], changes: dict, by, versions: dict[int, int] | None,
                 source: str = Source.PERSON, reason: str = "", confirm_void: bool = True, via: str = "",
                 detail: dict | None = None, action: str = "") -> Changed:
    """Apply `changes` ({field: value}) to every item of `items` (one release), all or nothing, as the
    one audited way release items change. Whoever asks goes through here: a person (the browser, the
    API, the bulk form), a probe's verdict, a waiver.

    The order, always: permission; the item rows locked (by id); the release row locked; the
    optimistic lock against `versions` ({item id: version the caller read}; None for a caller that
    holds the rows already, as a waiver does); overrides of a failed probe checked (a person's done or
    not applicable needs `reason`, or a waiver by the template's policy); approvals the change would
    void refused unless `confirm_void`; the rows written; one audit event per item; then drift,
    sign-off and the notices. Costs a fixed number of queries whatever the number of items (the
    locking reads, the live decisions, one UPDATE per distinct set of changed fields, one INSERT of the
    audit events), plus a few per override.
    """
    unknown = set(changes) - _ALLOWED[source]
    if unknown:
        raise ItemError(f"{', '.join(sorted(unknown))} cannot be changed here.", code="field_not_allowed")
    if not items:
        return Changed([], [], [])
    if source == Source.PERSON:
        for item in items:
            permissions.require_change(by, item)
    elif source == Source.PARAMS and not permissions.can_manage_release(by, items[0].release):
        # Thresholds are the release's, like its sign-off rules.
        raise PermissionDenied("Only the release manager of this release (or an admin) sets a check's params.")
    with transaction.atomic():
        rows = list(ReleaseItem.objects.select_for_update(no_key=True, of=("self",))
                    .select_related("changed_by", "assignee", "owner_team")
                    .filter(pk__in=[item.pk for item in items]).order_by("pk"))
        release = signoff.lock_release_for_item_change(items[0].release_id)
        for row in rows:
            row.release = release
        stale = [row for row in rows if versions and versions.get(row.pk) is not None
                 and row.version != versions[row.pk]]
        if stale:
            raise ItemsConflict([_conflict(row, next(iter(changes), "status")) for row in stale])
        done = _apply(rows, changes, by=by, source=source, reason=reason, via=via, detail=detail, action=action,
                      confirm_void=confirm_void)
    by_pk = {row.pk: row for row in rows}
    for item in items:
        _copy(by_pk[item.pk], item)
    return done


def _apply(rows, changes, *, by, source, reason, via, detail, action, confirm_void) -> Changed:
    """The writes of `items_change`, inside its transaction, the rows locked."""
    release = rows[0].release
    changed, unchanged, events, overrides, groups = [], [], [], [], {}
    for row in rows:
        wanted = {name: value for name, value in changes.items() if getattr(row, name) != value}
        if not wanted:
            unchanged.append(row)
            continue
        if _override_needed(row, wanted, source=source, reason=reason):
            overrides.append((row, row.status))
        row.was_complete = row.is_complete
        before = {name: _audit_value(row, name) for name in wanted}
        for name, value in wanted.items():
            setattr(row, name, value)
        fields = list(wanted)
        if "status" in wanted and source != Source.PROBE:
            # A person (or a waiver) deciding the status takes it over from the probe.
            row.decided_by_probe = False
            row.completed_by = by if row.status in ReleaseItem.COMPLETE else None
            fields += ["decided_by_probe", "completed_by"]
        after = {name: _audit_value(row, name) for name in wanted}
        after["version"] = row.version + 1
        after |= {key: value for key, value in (("source", source if source != Source.PERSON else ""),
                                                ("reason", reason), ("via", via)) if value}
        events.append({"action": action or (ACTION_PROBE if source == Source.PROBE else _action(wanted)),
                       "obj": row, "release": release, "before": before, "after": {**after, **(detail or {})}})
        groups.setdefault(tuple(fields), []).append(row)
        changed.append(row)
    if not changed:
        return Changed([], unchanged, [])
    status_rows = [row for row in changed if "status" in changes and row.status == changes["status"]]
    # Sign-off's reads come before the audit events: from the first event to COMMIT the change holds
    # the chain's lock, which every writer of every release waits for.
    live = signoff.live_decisions(release.pk) if status_rows else []
    if status_rows and source == Source.PERSON and not confirm_void:
        voided = signoff.approvals_voided_by(release, status_rows, live)
        if voided:
            raise VoidsApprovals(approvals=voided)
    _write(groups, by=by)
    record_many(events, actor=by)
    for row, from_status in overrides:
        _record_override(row, by=by, reason=reason, from_status=from_status)
    voided = (_status_changed(release, status_rows, by=by, source=source, reason=reason, live=live)
              if status_rows else [])
    return Changed(changed, unchanged, voided)


def _write(groups: dict[tuple, list[ReleaseItem]], *, by) -> None:
    """One conditional UPDATE per set of changed fields; every row's version goes up by one."""
    now = timezone.now()
    for fields, rows in groups.items():
        values = {name: getattr(rows[0], name) for name in fields}
        updated = ReleaseItem.objects.filter(pk__in=[row.pk for row in rows]).update(
            **values, version=F("version") + 1, changed_by=by, changed_at=now)
        if updated != len(rows):  # cannot happen under the row locks; never write half
            raise ItemError("Items changed while saving. Nothing was saved; try again.", code="conflict")
        for row in rows:
            row.version, row.changed_by, row.changed_at = row.version + 1, by, now


def item_change(*, item: ReleaseItem, changes: dict, by, expected_version: int | None,
                source: str = Source.PERSON, reason: str = "", confirm_void: bool = True,
                via: str = "", detail: dict | None = None, action: str = "") -> ReleaseItem:
    """`items_change` for one item: raises ItemConflict (not ItemsConflict) when it changed meanwhile.
    `detail` adds to the audit event (a probe run's result), `action` names the event when the
    caller's name is more telling, `via` names the API token."""
    try:
        items_change(items=[item], changes=changes, by=by, versions={item.pk: expected_version}, source=source,
                     reason=reason, confirm_void=confirm_void, via=via, detail=detail, action=action)
    except ItemsConflict as conflict:
        raise conflict.conflicts[0] from None
    return item


def _copy(current: ReleaseItem, item: ReleaseItem) -> None:
    """Give the caller's object the row as saved, so it can go on (a second change, a response)."""
    for name in ("status", "assignee", "owner_team", "due_date", "completed_by", "decided_by_probe",
                 "probe_status", "probe_checked_at", "regressed", "version", "changed_by", "changed_at"):
        setattr(item, name, getattr(current, name))
    item.release = current.release


def _action(wanted: dict) -> str:
    return next(action for name, action in _ACTIONS if name in wanted)


def _override_needed(current: ReleaseItem, wanted: dict, *, source: str, reason: str) -> bool:
    """A person completing an item whose last probe verdict is a failure overrides the machine."""
    completing = wanted.get("status") in (ReleaseItem.Status.DONE, ReleaseItem.Status.NOT_APPLICABLE)
    if source != Source.PERSON or not completing or current.probe_status != ReleaseItem.ProbeStatus.FAIL:
        return False
    policy = current.release.template_version.template.override_policy
    if policy == ChecklistTemplate.OverridePolicy.WAIVER:
        raise ItemError("A probe failed this item, and this checklist does not accept overrides: "
                        "fix what the probe found, or request a waiver.", code="override_needs_waiver")
    if not reason.strip():
        raise ItemError("A probe failed this item: say why you override its finding (the reason goes on "
                        "record, in the sign-off review and the report).", code="override_needs_reason")
    if len(reason) > REASON_MAX:
        raise ItemError(f"A reason holds at most {REASON_MAX} characters.", code="reason_too_long")
    return True


def _record_override(item: ReleaseItem, *, by, reason: str, from_status: str) -> None:
    """The override, with the probe's verdict as it stood (the latest failing probe evidence)."""
    latest = (item.evidence.filter(kind=Evidence.Kind.PROBE, probe_result__status="fail")
              .select_related("probe_result").order_by("-created_at").first())
    summary = latest.probe_result.summary if latest else ""
    findings = list(latest.probe_result.findings[:50]) if latest else []
    override = ItemOverride.objects.create(release=item.release, item=item, by=by, reason=reason.strip(),
                                           from_status=from_status, to_status=item.status,
                                           probe_summary=summary[:500], probe_findings=findings)
    record(ACTION_OVERRIDE, actor=by, obj=item, release=item.release,
           after={"override": override.pk, "to": item.status, "reason": override.reason,
                  "probe_summary": override.probe_summary, "findings": len(findings)})


def _status_changed(release: Release, rows: list[ReleaseItem], *, by, source: str, reason: str,
                    live: list) -> list:
    """What status changes do beyond the items: drift, then sign-off (given the release's `live`
    decisions, read under its lock), then the notices."""
    left = [row for row in rows if row.was_complete and not row.is_complete]
    if source in Source.SYSTEM and release.state == Release.State.APPROVED and left:
        signoff.release_mark_drifted(release, by=by, reason=", ".join(
            f"{row.key} is {row.get_status_display().lower()}" for row in left[:3]) + " after approval.")
    # Sign-off supersedes what the change voids and tells those who decided (announce.approvals_voided).
    return signoff.on_items_changed(release.pk, rows, by=by, locked=(release, live),
                                    reason=reason if source in (Source.WAIVER, Source.EXPIRY) else "")


def item_set_status(*, item: ReleaseItem, status: str, by, expected_version: int, reason: str = "",
                    confirm_void: bool = True, via: str = "") -> ReleaseItem:
    if status == ReleaseItem.Status.WAIVED:
        raise ItemError("An item becomes waived only through a granted waiver: request one instead.",
                        code="waived_needs_waiver")
    if status not in SETTABLE_STATUSES:
        raise ItemError(f"“{status}” is not a status.", code="unknown_status")
    return item_change(item=item, changes={"status": status}, by=by, expected_version=expected_version,
                       reason=reason, confirm_void=confirm_void, via=via)


def item_assign(*, item: ReleaseItem, assignee, by, expected_version: int, via: str = "") -> ReleaseItem:
    _check_assignee(item, assignee, by=by)
    item = item_change(item=item, changes={"assignee": assignee}, by=by, expected_version=expected_version,
                       via=via)
    announce.item_assigned(item=item, by=by)
    return item


def _check_assignee(item: ReleaseItem, assignee, *, by) -> None:
    if assignee is not None and not permissions.can_assign_to(by, item, assignee):
        permissions.require_change(by, item)
        raise ItemError(f"{assignee.get_username()} cannot be assigned: they cannot work on this item.",
                        code="assignee_not_allowed")


def item_set_owner_team(*, item: ReleaseItem, team: Team | None, by, expected_version: int,
                        via: str = "") -> ReleaseItem:
    return item_change(item=item, changes={"owner_team": team}, by=by, expected_version=expected_version, via=via)


def item_set_due_date(*, item: ReleaseItem, due_date: datetime.date | None, by, expected_version: int,
                      via: str = "") -> ReleaseItem:
    return item_change(item=item, changes={"due_date": due_date}, by=by, expected_version=expected_version,
                       via=via)


def item_update(*, item: ReleaseItem, changes: dict, by, expected_version: int, reason: str = "",
                confirm_void: bool = True, via: str = "") -> ReleaseItem:
    """Several fields of one item in one change (the item form): one audit event, one version."""
    if "status" in changes:
        status = changes["status"]
        if status == ReleaseItem.Status.WAIVED or status not in SETTABLE_STATUSES:
            raise ItemError("An item becomes waived only through a granted waiver: request one instead."
                            if status == ReleaseItem.Status.WAIVED else f"“{status}” is not a status.",
                            code="unknown_status")
    if "assignee" in changes:
        _check_assignee(item, changes["assignee"], by=by)
    old_assignee = item.assignee_id
    item = item_change(item=item, changes=changes, by=by, expected_version=expected_version, reason=reason,
                       confirm_void=confirm_void, via=via)
    if "assignee" in changes and item.assignee_id != old_assignee:
        announce.item_assigned(item=item, by=by)
    return item


def item_record_check(*, item: ReleaseItem, checked_at: datetime.datetime) -> None:
    """A probe judged the item again with the same verdict: only when it was last checked moves.

    No new version (a person's open form should not conflict for nothing) and no audit event of its
    own: the probe run's result row and its "probes.run.finished" event record the check.
    """
    ReleaseItem.objects.filter(pk=item.pk).update(probe_checked_at=checked_at)
    item.probe_checked_at = checked_at


# Bulk changes: a release manager sets the status, owning team, assignee or due date of many items at once.

KEEP = object()  # a bulk field left as each item has it
_BULK_FIELDS = ("status", "owner_team", "assignee", "due_date")
BULK_ACTION = "checklists.item.bulk_updated"


@dataclass
class BulkResult:
    changed: list[ReleaseItem]
    unchanged: list[ReleaseItem]
    conflicts: list[ItemConflict]

    @property
    def saved(self) -> bool:
        """All or nothing: with any conflict, nothing was saved."""
        return not self.conflicts

def items_bulk_update(*, release, versions: dict[int, int], by, status=KEEP, owner_team=KEEP, assignee=KEEP,
                      due_date=KEEP, reason: str = "") -> BulkResult:
    """Set the given fields on the items `versions` names (item id -> the version the page showed),
    through `items_change`, all or nothing: when any of them changed since, nothing is saved and the
    result lists every conflict (who changed the item, when, its current value). One audit event per
    changed item, with `reason` (marking items not applicable needs one, and it is the reason of any
    override of a failed probe). Release manager of the release or admin only. Costs a fixed number of
    queries whatever the number of items."""
    permissions.require_manage_release(by, release)
    wanted = {name: value for name, value in
              (("status", status), ("owner_team", owner_team), ("assignee", assignee), ("due_date", due_date))
              if value is not KEEP}
    reason = (reason or "").strip()
    if not wanted:
        raise ItemError("Choose a status, an owner team, an assignee or a due date to set.", code="nothing_to_set")
    if not versions:
        raise ItemError("Select at least one item.", code="no_items")
    if "status" in wanted:
        if wanted["status"] == ReleaseItem.Status.WAIVED:
            raise ItemError("An item becomes waived only through a granted waiver: request one instead.",
                            code="waived_needs_waiver")
        if wanted["status"] not in SETTABLE_STATUSES:
            raise ItemError(f"“{wanted['status']}” is not a status.", code="unknown_status")
        if wanted["status"] == ReleaseItem.Status.NOT_APPLICABLE and not reason:
            raise ItemError("Say why these items do not apply: marking items not applicable needs a reason.",
                            code="reason_needed")
    if len(reason) > REASON_MAX:
        raise ItemError(f"A reason holds at most {REASON_MAX} characters.", code="reason_too_long")
    rows = list(release.items.filter(pk__in=versions).order_by("pk"))
    if len(rows) != len(versions):
        raise ItemError("Some of those items are not part of this release. Nothing was saved.", code="not_in_release")
    for row in rows:
        row.release = release
    if wanted.get("assignee") is not None and not permissions.can_assign_to(by, rows[0], wanted["assignee"]):
        person = wanted["assignee"]
        raise ItemError(f"{person.get_full_name() or person.get_username()} cannot be assigned: only engineers, "
                        f"admins and the release's manager act on items.", code="assignee_not_allowed")
    try:
        done = items_change(items=rows, changes=wanted, by=by, versions=versions, reason=reason, action=BULK_ACTION)
    except ItemsConflict as conflict:
        return BulkResult(changed=[], unchanged=[], conflicts=conflict.conflicts)
    if wanted.get("assignee") is not None:
        announce.items_assigned(items=done.changed, by=by)
    return BulkResult(changed=done.changed, unchanged=done.unchanged, conflicts=[])
