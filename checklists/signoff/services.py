"""Sign-off: opening it, the requirements, approvals, and what item changes do to them.

The release's state moves only here:
    in progress --open--> awaiting sign-off --every requirement approved--> approved
                                            --one rejection--> rejected --reopen--> in progress
and back from any sign-off state when an item changes (on_items_changed). Every move is audited.
"""
import datetime
import hashlib
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Prefetch, Q
from django.utils import timezone

from checklists import announce, deciders, permissions
from checklists.audit import canonical_json, record
from checklists.models import Approval, AuditEvent, Evidence, Release, ReleaseItem, SignoffRequirement, TemplateSection, Waiver

SIGNOFF_STATES = (Release.State.AWAITING_SIGNOFF, Release.State.APPROVED, Release.State.REJECTED)
OPENABLE_STATES = (Release.State.DRAFT, Release.State.IN_PROGRESS)


class SignoffError(ValueError):
    """The sign-off step cannot be taken as asked; the message says why, `blockers` what stops it."""

    def __init__(self, message: str, blockers: "Blockers | None" = None, code: str = "invalid"):
        super().__init__(message)
        self.blockers = blockers
        self.code = "blocked" if blockers else code


# --- What blocks sign-off ------------------------------------------------------------------------
@dataclass
class Blocker:
    key: str
    text: str
    reason: str
    item_id: int


@dataclass
class Blockers:
    incomplete: list[Blocker] = field(default_factory=list)
    stale: list[Blocker] = field(default_factory=list)
    no_requirements: bool = False

    def __bool__(self):
        return bool(self.incomplete or self.stale or self.no_requirements)

    def summary(self) -> str:
        parts = []
        if self.incomplete:
            parts.append(f"{len(self.incomplete)} required item(s) not complete")
        if self.stale:
            parts.append(f"{len(self.stale)} item(s) with stale automated evidence")
        if self.no_requirements:
            parts.append("no sign-off requirement is defined")
        return "; ".join(parts)


def live_waiver_q(today=None):
    today = today or timezone.localdate()
    return Q(state=Waiver.State.GRANTED, expires_on__gt=today)


_MAX_AGE_SETTINGS = {deciders.PROBE: "READINESS_EVIDENCE_MAX_AGE_HOURS",
                     deciders.ARTIFACT: "READINESS_ARTIFACT_MAX_AGE_HOURS",
                     deciders.COLLECTOR: "READINESS_COLLECTOR_MAX_AGE_HOURS"}


def evidence_max_age_hours(check_id: str) -> int:
    """How many hours the verdict of the check `check_id` stays fresh (per kind: probe, artifact, collector)."""
    kind = deciders.kind_of(check_id) or deciders.PROBE
    return getattr(settings, _MAX_AGE_SETTINGS[kind])


def stale_reason(item: ReleaseItem, now) -> str | None:
    """Why an item decided by a machine no longer counts ("artifact evidence older than 168 h (...)"),
    or None while its verdict is fresh. Items a person waived or set not applicable are never stale."""
    if not item.decided_by_probe or item.status in (ReleaseItem.Status.WAIVED, ReleaseItem.Status.NOT_APPLICABLE):
        return None
    hours = evidence_max_age_hours(item.probe_id)
    checked = item.probe_checked_at
    if checked is not None and now - checked <= datetime.timedelta(hours=hours):
        return None
    age = "never checked" if checked is None else f"last checked {checked:%Y-%m-%d %H:%M} UTC"
    return f"{deciders.kind_of(item.probe_id) or deciders.PROBE} evidence older than {hours} h ({age})"


def signoff_blockers(release: Release, *, now=None) -> Blockers:
    """Everything that stops sign-off, item by item. Costs 3 queries whatever the release size."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    waived_ok = set(
        Waiver.objects.filter(live_waiver_q(today), item__release=release).values_list("item_id", flat=True)
    )
    blockers = Blockers()
    fields = ("pk", "key", "text", "status", "required", "decided_by_probe", "probe_checked_at", "probe_id")
    for item in release.items.only(*fields).order_by("order"):
        if item.required:
            if item.status == ReleaseItem.Status.WAIVED and item.pk not in waived_ok:
                blockers.incomplete.append(Blocker(item.key, item.text, "waived without a granted, unexpired waiver",
                                                   item.pk))
            elif item.status not in ReleaseItem.COMPLETE:
                blockers.incomplete.append(Blocker(item.key, item.text, f"status is {item.get_status_display()}",
                                                   item.pk))
        reason = stale_reason(item, now)
        if reason:
            blockers.stale.append(Blocker(item.key, item.text, reason, item.pk))
    blockers.no_requirements = not release.requirements.exists()
    return blockers


# --- The state an approval vouches for ------------------------------------------------------------
def release_state(release: Release) -> dict:
    """The canonical state an approver approves: each item's status and evidence hashes, and the
    waivers that make waived items count. Costs 3 queries."""
    evidence = Prefetch("evidence", queryset=Evidence.objects.only("item_id", "sha256").order_by("pk"))
    waivers = Prefetch("waivers", queryset=Waiver.objects.filter(state=Waiver.State.GRANTED).order_by("pk"))
    items = release.items.only("pk", "key", "status", "required").prefetch_related(evidence, waivers).order_by("order")
    return {
        "release": release.pk,
        "items": [
            [item.key, item.status, [e.sha256 for e in item.evidence.all()],
             [[w.pk, w.expires_on.isoformat()] for w in item.waivers.all()]]
            for item in items
        ],
    }


def release_state_hash(release: Release) -> str:
    return hashlib.sha256(canonical_json(release_state(release)).encode()).hexdigest()


# --- Requirements ---------------------------------------------------------------------------------
def _require_manager(release: Release, by) -> None:
    if not permissions.can_manage_signoff(by, release):
        raise PermissionDenied("Only the release's manager changes its sign-off.")


def _requirements_changed(release: Release, *, by, what: str) -> None:
    """Requirements are fixed once sign-off opens: changing one afterwards voids every decision and
    takes the release back to work (sign-off must be opened again), audited, and the approvers hear."""

    if release.state not in SIGNOFF_STATES:
        return
    reason = f"Sign-off requirements changed by {by.get_username()}: {what}"
    live = release.approvals.filter(superseded_at__isnull=True).select_related("requirement")
    _supersede(live, reason=reason, by=by, release=release)
    _set_state(release, Release.State.IN_PROGRESS, by=by, action="checklists.signoff.reopened", reason=reason)
    announce.requirements_changed(release=release, by=by, what=what)


def _weakens(requirement: SignoffRequirement, *, role, team, sections) -> bool:
    """A template requirement asks for less when its role or team changes or its scope narrows."""
    scoped = set(requirement.sections.values_list("pk", flat=True))
    return (role != requirement.role or getattr(team, "pk", None) != requirement.team_id
            or {s.pk for s in sections} != scoped)


def _require_admin_for_template(requirement: SignoffRequirement, by, what: str) -> None:
    if requirement.from_template and not permissions.is_admin(by):
        raise PermissionDenied(f"“{requirement.name}” comes from the checklist template: only an admin {what} it.")


def _requirement_snapshot(requirement: SignoffRequirement) -> dict:
    return {"name": requirement.name, "role": requirement.role, "team": requirement.team.slug if requirement.team else "",
            "sections": sorted(requirement.sections.values_list("key", flat=True)),
            "from_template": requirement.from_template}


def _validate_requirement(release, *, name, role, team, sections, exclude_pk=None):
    name = (name or "").strip()
    if not name:
        raise SignoffError("A sign-off requirement needs a name.")
    if not role and team is None:
        raise SignoffError("A sign-off requirement needs a role, a team, or both.")
    clash = release.requirements.filter(name=name)
    if exclude_pk:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise SignoffError(f"There is already a requirement named {name!r}.")
    for section in sections:
        if section.version_id != release.template_version_id:
            raise SignoffError("A requirement can only be scoped to sections of the release's template.")
    return name


@transaction.atomic
def requirement_create(*, release: Release, by, name: str, role: str = "", team=None, sections=()) -> SignoffRequirement:
    release = Release.objects.select_for_update(no_key=True).get(pk=release.pk)
    _require_manager(release, by)
    name = _validate_requirement(release, name=name, role=role, team=team, sections=sections)
    last = release.requirements.order_by("-order").values_list("order", flat=True).first()
    requirement = SignoffRequirement.objects.create(release=release, name=name, role=role, team=team,
                                                    order=(last or 0) + 1)
    requirement.sections.set(sections)
    record("checklists.signoff.requirement_added", actor=by, obj=requirement, release=release,
           after=_requirement_snapshot(requirement))
    _requirements_changed(release, by=by, what=f"“{name}” added")
    return requirement


@transaction.atomic
def requirement_update(*, requirement: SignoffRequirement, by, name: str, role: str = "", team=None,
                       sections=()) -> SignoffRequirement:
    release = Release.objects.select_for_update(no_key=True).get(pk=requirement.release_id)
    _require_manager(release, by)
    name = _validate_requirement(release, name=name, role=role, team=team, sections=sections,
                                 exclude_pk=requirement.pk)
    if _weakens(requirement, role=role, team=team, sections=sections):
        _require_admin_for_template(requirement, by, "changes who must approve")
    before = _requirement_snapshot(requirement)
    requirement.name, requirement.role, requirement.team = name, role, team
    requirement.save(update_fields=["name", "role", "team"])
    requirement.sections.set(sections)
    record("checklists.signoff.requirement_changed", actor=by, obj=requirement, release=release,
           before=before, after=_requirement_snapshot(requirement))
    _requirements_changed(release, by=by, what=f"“{name}” changed")
    return requirement


@transaction.atomic
def requirement_delete(*, requirement: SignoffRequirement, by) -> None:
    release = Release.objects.select_for_update(no_key=True).get(pk=requirement.release_id)
    _require_manager(release, by)
    _require_admin_for_template(requirement, by, "removes")
    if requirement.approvals.exists():
        raise SignoffError("This requirement has decisions in its history; it stays on record and cannot be "
                           "removed.", code="has_decisions")
    before = _requirement_snapshot(requirement)
    record("checklists.signoff.requirement_removed", actor=by, obj=requirement, release=release, before=before)
    requirement.delete()
    _requirements_changed(release, by=by, what=f"“{before['name']}” removed")


# --- Opening, deciding, reopening -------------------------------------------------------------------
def _set_state(release: Release, state: str, *, by, action: str, reason: str = "", drifted: bool | None = None):

    before = {"state": release.state, "drifted": release.drifted}
    release.state = state
    fields = ["state", "updated_at"]
    if drifted is not None:
        release.drifted = drifted
        fields.append("drifted")
    release.save(update_fields=fields)
    after = {"state": release.state, "drifted": release.drifted}
    if reason:
        after["reason"] = reason
    record(action, actor=by, obj=release, release=release, before=before, after=after)
    if state == Release.State.APPROVED and before["state"] != state:
        announce.release_approved(release=release)
    if release.drifted and not before["drifted"]:
        announce.release_drifted(release=release, reason=reason or "The approved release changed.",
                                      key=release.updated_at.strftime("%Y%m%dT%H%M%S.%f"))


@transaction.atomic
def signoff_open(*, release: Release, by) -> Release:
    """Ask the approvers to decide. Refused with the full list of blockers while any remain."""

    release = Release.objects.select_for_update(no_key=True).get(pk=release.pk)
    _require_manager(release, by)
    if release.state not in OPENABLE_STATES:
        raise SignoffError(f"Sign-off cannot be opened on a release that is {release.get_state_display().lower()}.")
    blockers = signoff_blockers(release)
    if blockers:
        raise SignoffError(f"Sign-off cannot open: {blockers.summary()}.", blockers)
    _set_state(release, Release.State.AWAITING_SIGNOFF, by=by, action="checklists.signoff.opened")
    announce.signoff_opened(release=release)
    return release


def _scope_index(release: Release) -> tuple[dict, list]:
    """The release's section tree and its items' (pk, key, section), read once per release object:
    checking many requirements' scopes then costs no more queries. Costs 2 queries the first time."""
    if not hasattr(release, "_scope_index"):
        parents = dict(TemplateSection.objects.filter(version_id=release.template_version_id)
                       .values_list("pk", "parent_id"))
        release._scope_index = (parents, list(release.items.values_list("pk", "key", "section_id")))
    return release._scope_index


def scope_item_ids(requirement: SignoffRequirement) -> set[int] | None:
    """Ids of the items a requirement covers, or None when it covers the whole release. Uses the
    requirement's prefetched sections when there are."""
    section_ids = {section.pk for section in requirement.sections.all()}
    if not section_ids:
        return None
    parents, items = _scope_index(requirement.release)
    covered = _with_descendants(section_ids, parents)
    return {pk for pk, _key, section_id in items if section_id in covered}


def _with_descendants(section_ids: set[int], parents: dict[int, int | None]) -> set[int]:
    covered = set()
    for pk in parents:
        node = pk
        while node is not None:
            if node in section_ids:
                covered.add(pk)
                break
            node = parents.get(node)
    return covered


def _covers(requirement: SignoffRequirement, item: ReleaseItem, parents: dict[int, int | None]) -> bool:
    scoped = {s.pk for s in requirement.sections.all()}
    if not scoped:
        return True
    node = item.section_id
    while node is not None:
        if node in scoped:
            return True
        node = parents.get(node)
    return False


# Audit actions by which a person takes an item out of the open set: each one makes them a party to it.
# Setting a check's thresholds decides its verdict as surely as setting the status by hand.
_DECIDING_ACTIONS = ("checklists.item.overridden", "checklists.waiver.requested", "checklists.waiver.granted",
                     "checklists.item.check_params_changed")


def item_deciders(release: Release) -> dict[int, set[str]]:
    """Who decided which items of the release, from the audit history (not the items' current
    values): set one done, not applicable or waived, overrode a probe, asked for or granted a waiver,
    set the params its check judges by.
    {user id: {item keys}}. Costs 2 queries."""
    keys = dict(release.items.values_list("pk", "key"))
    completing = [ReleaseItem.Status.DONE, ReleaseItem.Status.NOT_APPLICABLE, ReleaseItem.Status.WAIVED]
    events = (AuditEvent.objects.filter(release=release, actor__isnull=False)
              .filter(Q(object_type="releaseitem", after__status__in=completing) | Q(action__in=_DECIDING_ACTIONS))
              .values_list("actor_id", "object_type", "object_id", "after"))
    deciders: dict[int, set[str]] = {}
    for actor_id, object_type, object_id, after in events:
        key = keys.get(int(object_id)) if object_type == "releaseitem" else (after or {}).get("item")
        if key:
            deciders.setdefault(actor_id, set()).add(key)
    return deciders


def scope_keys(requirement: SignoffRequirement) -> set[str] | None:
    """Keys of the items a requirement covers, or None when it covers the whole release."""
    ids = scope_item_ids(requirement)
    if ids is None:
        return None
    return {key for pk, key, _section in _scope_index(requirement.release)[1] if pk in ids}


def decision_conflict(requirement: SignoffRequirement, user, *, deciders=None, scope=False,
                      live=None) -> str:
    """Why separation of duties forbids `user` to decide `requirement`, or "" when it does not.

    Nobody decides a release they manage or created, a requirement covering an item they decided at
    any time during the release, or a second requirement of the same release (unless its template
    allows it). `deciders`, `scope` and `live` may be passed in by callers that check many people.
    """
    release = requirement.release
    if user.pk in (release.created_by_id, release.release_manager_id):
        return "You manage or created this release, so you cannot sign it off."
    decided = (item_deciders(release) if deciders is None else deciders).get(user.pk, set())
    if decided:
        covered = scope_keys(requirement) if scope is False else scope
        overlap = sorted(decided if covered is None else decided & covered)
        if overlap:
            return ("You decided items this requirement covers (" + ", ".join(overlap[:5])
                    + (", …" if len(overlap) > 5 else "") + "), so someone else must sign it off.")
    if not release.template_version.template.one_person_many_requirements:
        live = (list(release.approvals.filter(superseded_at__isnull=True).select_related("requirement"))
                if live is None else live)
        other = next((a for a in live if a.approver_id == user.pk and a.requirement_id != requirement.pk), None)
        if other is not None:
            return (f"You already decided “{other.requirement.name}”; each requirement of a release is "
                    f"decided by a different person.")
    return ""


def can_decide(requirement: SignoffRequirement, user, **known) -> tuple[bool, str]:
    """(allowed, reason) for showing or refusing the approve/reject form."""
    if not permissions.holds_requirement(user, requirement):
        return False, "You are not a member of the team or holder of the role this requirement asks for."
    conflict = decision_conflict(requirement, user, **known)
    return (False, conflict) if conflict else (True, "")


def eligible_approvers(requirement: SignoffRequirement, *, deciders, live) -> tuple[list, list[tuple]]:
    """Who may still decide `requirement`, and who holds it but is excluded, with why.
    ([users], [(user, reason)]). Costs 1 query plus the scope's."""
    scope = scope_keys(requirement)
    eligible, excluded = [], []
    for user in permissions.requirement_holders(requirement):
        reason = decision_conflict(requirement, user, deciders=deciders, scope=scope, live=live)
        if reason:
            excluded.append((user, reason))
        else:
            eligible.append(user)
    return eligible, excluded


@transaction.atomic
def approval_decide(*, requirement: SignoffRequirement, by, decision: str, comment: str = "") -> Approval:
    """Approve or reject one requirement. The approval records the hash of the release state it saw."""

    release = Release.objects.select_for_update(no_key=True).get(pk=requirement.release_id)
    requirement.release = release
    if decision not in Approval.Decision.values:
        raise SignoffError("A decision is either approved or rejected.")
    if not permissions.holds_requirement(by, requirement):
        raise PermissionDenied("You are not a member of the team or holder of the role this requirement asks for.")
    conflict = decision_conflict(requirement, by)
    if conflict:
        raise PermissionDenied(conflict)
    comment = (comment or "").strip()
    if decision == Approval.Decision.REJECTED and not comment:
        raise SignoffError("A rejection needs a comment saying why.")
    if release.state != Release.State.AWAITING_SIGNOFF:
        raise SignoffError(f"The release is {release.get_state_display().lower()}, not awaiting sign-off.")
    if requirement.approvals.filter(superseded_at__isnull=True).exists():
        raise SignoffError(f"{requirement.name} has already been decided.")
    if decision == Approval.Decision.APPROVED:
        blockers = signoff_blockers(release)
        if blockers:
            raise SignoffError(f"The release cannot be approved now: {blockers.summary()}.", blockers)
    approval = Approval.objects.create(
        release=release, requirement=requirement, approver=by, decision=decision, comment=comment,
        state_hash=release_state_hash(release),
    )
    record(f"checklists.signoff.{decision}", actor=by, obj=approval, release=release,
           after={"requirement": requirement.name, "decision": decision, "comment": comment,
                  "state_hash": approval.state_hash})
    if decision == Approval.Decision.REJECTED:
        _set_state(release, Release.State.REJECTED, by=by, action="checklists.release.rejected",
                   reason=f"{requirement.name} rejected")
    elif not _undecided(release):
        _set_state(release, Release.State.APPROVED, by=by, action="checklists.release.approved", drifted=False)
    announce.decision_made(approval=approval)
    return approval


def _undecided(release: Release) -> list[SignoffRequirement]:
    approved = Approval.objects.filter(release=release, superseded_at__isnull=True,
                                       decision=Approval.Decision.APPROVED).values("requirement_id")
    return list(release.requirements.exclude(pk__in=approved))


def _supersede(approvals, *, reason: str, by, release: Release) -> int:
    now = timezone.now()
    count = 0
    for approval in approvals:
        approval.superseded_at = now
        approval.superseded_reason = reason[:300]
        approval.save(update_fields=["superseded_at", "superseded_reason"])
        record("checklists.signoff.superseded", actor=by, obj=approval, release=release,
               before={"decision": approval.decision, "requirement": approval.requirement.name},
               after={"superseded_reason": approval.superseded_reason})
        count += 1
    if count:

        announce.approvals_voided(release=release, approvals=list(approvals), reason=reason[:300])
    return count


@transaction.atomic
def signoff_reopen(*, release: Release, by, reason: str = "") -> Release:
    """Take a rejected (or approved) release back to work: every live decision is superseded."""
    release = Release.objects.select_for_update(no_key=True).get(pk=release.pk)
    _require_manager(release, by)
    if release.state not in (Release.State.REJECTED, Release.State.APPROVED, Release.State.AWAITING_SIGNOFF):
        raise SignoffError("Only a release in sign-off can be reopened.")
    reason = (reason or "").strip() or "release reopened by its manager"
    live = release.approvals.filter(superseded_at__isnull=True).select_related("requirement")
    _supersede(live, reason=f"Reopened by {by.get_username()}: {reason}", by=by, release=release)
    _set_state(release, Release.State.IN_PROGRESS, by=by, action="checklists.signoff.reopened", reason=reason)
    return release


def lock_release_for_item_change(release_id: int) -> Release:
    """Lock the release row for an item change; call it before the change writes its first audit event.

    Locks are taken in one order everywhere: item rows, then the release row, then the audit chain's
    lock (which `record` holds until commit). Sign-off steps take the release, then the audit lock; an
    item change that recorded first and locked the release afterwards would deadlock with them. And a
    decision committed while the change waited here is then seen, and superseded, by on_items_changed.
    FOR NO KEY UPDATE, as every row lock of a writer: see checklists.audit for why not FOR UPDATE.
    """
    return Release.objects.select_for_update(no_key=True).get(pk=release_id)


def _voided(items, live: list[Approval], release: Release) -> tuple[list[Approval], bool]:
    """The live decisions a change to `items` (as they are now) voids, and whether the release leaves
    sign-off: a required item no longer complete voids every decision, whatever its scope."""
    if any(item.required and item.status not in ReleaseItem.COMPLETE for item in items):
        return live, True
    parents = _scope_index(release)[0]
    return [a for a in live if any(_covers(a.requirement, item, parents) for item in items)], False


def live_decisions(release_id: int) -> list[Approval]:
    """The release's decisions not superseded; read them after locking the release row, so that no
    sign-off step adds one before the transaction ends."""
    return list(Approval.objects.filter(release_id=release_id, superseded_at__isnull=True)
                .select_related("requirement", "approver").prefetch_related("requirement__sections"))


def approvals_voided_by(release: Release, items, live: list[Approval]) -> list[Approval]:
    """The live approvals (of `live`, from live_decisions) that saving `items` as they stand (changed,
    not yet saved) would supersede. For the warning before a change saves. Costs 0-1 queries."""
    live = [a for a in live if a.decision == Approval.Decision.APPROVED]
    if not live:
        return []
    return _voided(items, live, release)[0]


def release_mark_drifted(release: Release, *, by, reason: str) -> None:
    """Flag an approved release whose reality regressed (a probe fails, a waiver expired); audited."""
    if release.drifted:
        return

    release.drifted = True
    release.save(update_fields=["drifted", "updated_at"])
    record("checklists.release.drifted", actor=by, obj=release, release=release,
           before={"drifted": False}, after={"drifted": True, "reason": reason})
    announce.release_drifted(release=release, reason=reason, key=release.updated_at.strftime("%Y%m%dT%H%M%S.%f"))


def on_items_changed(release_id: int, items: list, *, by, reason: str = "",
                     locked: tuple[Release, list[Approval]] | None = None) -> list[Approval]:
    """Called by the item entry point (and evidence) for every change to what an approval vouches
    for, inside its transaction. Returns the decisions it superseded. `locked` is the release row and
    its live decisions as a caller that holds the row's lock read them before its audit event (the
    item entry point and evidence do, so that they are not read while the audit chain's lock is held).

    Supersedes the live decisions whose scope covers one of the items (they vouched for a state that
    no longer exists) and takes a release in sign-off back: to in progress when a required item is no
    longer complete, else to awaiting sign-off (or rejected while a rejection outside the items' scope
    stands). Costs 2 queries (none with `locked`) when the release has no live decision and is not in
    sign-off, and does not grow with the number of items.
    """
    if locked is None:
        # The release row first: decisions are read only once no sign-off step can add one meanwhile.
        release = lock_release_for_item_change(release_id)
        locked = release, live_decisions(release_id)
    release, live = locked
    if not items or (not live and release.state not in SIGNOFF_STATES):
        return []
    who = by.get_username() if by is not None and by.is_authenticated else "system"
    keys = ", ".join(item.key for item in items[:3]) + (f" and {len(items) - 3} more" if len(items) > 3 else "")
    reason = reason or f"Item {keys} changed by {who} after this decision."
    voided, leaves_signoff = _voided(items, live, release)
    _supersede(voided, reason=reason, by=by, release=release)
    if release.state not in SIGNOFF_STATES:
        return voided
    if leaves_signoff:
        target = Release.State.IN_PROGRESS
    elif release.approvals.filter(superseded_at__isnull=True, decision=Approval.Decision.REJECTED).exists():
        target = Release.State.REJECTED
    elif not _undecided(release):
        target = Release.State.APPROVED
    else:
        target = Release.State.AWAITING_SIGNOFF
    if target != release.state:
        _set_state(release, target, by=by, action="checklists.signoff.returned", reason=reason)
    return voided


# --- Reads for the panel and "my approvals" -----------------------------------------------------
def requirement_rows(release: Release, user, *, with_eligibility: bool = False) -> list[dict]:
    """Each requirement with its live decision, its history and what `user` may do with it; with
    `with_eligibility` (for the release's manager) also who may still decide it and who may not, why.
    Costs 4 queries, plus 2 per requirement with eligibility."""
    requirements = list(release.requirements.select_related("team").prefetch_related("sections"))
    approvals = list(release.approvals.select_related("approver", "requirement").order_by("created_at"))
    live_all = [a for a in approvals if a.superseded_at is None]
    deciders = item_deciders(release) if (with_eligibility or release.state == Release.State.AWAITING_SIGNOFF) else {}
    rows = []
    for requirement in requirements:
        requirement.release = release
        history = [a for a in approvals if a.requirement_id == requirement.pk]
        live = next((a for a in history if a.superseded_at is None), None)
        allowed, why = (False, "")
        if release.state == Release.State.AWAITING_SIGNOFF and live is None and user.is_authenticated:
            allowed, why = can_decide(requirement, user, deciders=deciders, live=live_all)
        row = {"requirement": requirement, "live": live, "history": history, "can_decide": allowed, "why_not": why}
        if with_eligibility and live is None:
            row["eligible"], row["excluded"] = eligible_approvers(requirement, deciders=deciders, live=live_all)
        rows.append(row)
    return rows


def pending_for_user(user) -> list[dict]:
    """Requirements waiting for a decision that `user` may give, across every release."""
    rows = []
    releases = (permissions.visible_releases(user).filter(state=Release.State.AWAITING_SIGNOFF)
                .select_related("template_version__template"))
    for release in releases:
        for row in requirement_rows(release, user):
            if row["live"] is None and (row["can_decide"] or permissions.holds_requirement(user, row["requirement"])):
                rows.append({"release": release, **row})
    return rows
