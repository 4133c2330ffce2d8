"""The approver's review: what deserves a look before approving a release, each entry linking to its
item. Reads only; a fixed number of queries whatever the release size."""
from dataclasses import dataclass, field

from django.db.models import Count
from django.utils import timezone

from checklists.audit import canonical_json
from checklists.models import Approval, AuditEvent, ReleaseItem, Waiver
from checklists.signoff.services import stale_reason


@dataclass
class ReviewEntry:
    item: ReleaseItem
    note: str = ""


@dataclass
class Review:
    done_without_evidence: list[ReviewEntry] = field(default_factory=list)
    overrides: list[ReviewEntry] = field(default_factory=list)  # a probe failed, a person decided
    not_applicable: list[ReviewEntry] = field(default_factory=list)
    waivers: list[Waiver] = field(default_factory=list)
    stale: list[ReviewEntry] = field(default_factory=list)
    changed_since_approval: list[ReviewEntry] = field(default_factory=list)
    params_changed: list[ReviewEntry] = field(default_factory=list)  # a check's thresholds set on this release
    last_approval: Approval | None = None

    @property
    def empty(self) -> bool:
        return not (self.done_without_evidence or self.overrides or self.not_applicable or self.waivers
                    or self.stale or self.changed_since_approval or self.params_changed)


def release_review(release, *, now=None) -> Review:
    """Costs 6 queries (5 when nothing is marked not applicable): the items with their evidence counts,
    the waivers, the latest decision, the audit events since it, the params set on checks, and the
    reasons of not-applicable items."""
    now = now or timezone.now()
    review = Review()
    items = list(release.items.select_related("section", "owner_team", "changed_by", "completed_by")
                 .annotate(evidence_total=Count("evidence")).order_by("order"))
    by_pk = {item.pk: item for item in items}
    for item in items:
        item.release = release
        person_decided = not item.decided_by_probe
        if item.status == ReleaseItem.Status.DONE and item.evidence_total == 0:
            review.done_without_evidence.append(ReviewEntry(item, f"done by {_who(item.completed_by)}"))
        if item.probe_status == "fail" and person_decided and item.status in (
                ReleaseItem.Status.DONE, ReleaseItem.Status.NOT_APPLICABLE):
            review.overrides.append(ReviewEntry(
                item, f"the probe failed; {_who(item.changed_by)} set it {item.get_status_display().lower()}"))
        if item.status == ReleaseItem.Status.NOT_APPLICABLE:
            review.not_applicable.append(ReviewEntry(item))
        if stale_reason(item, now):
            checked = item.probe_checked_at
            review.stale.append(ReviewEntry(
                item, "never checked" if checked is None else f"last checked {checked:%Y-%m-%d %H:%M} UTC"))
    review.waivers = list(Waiver.objects.filter(item__release=release)
                          .exclude(state__in=[Waiver.State.REFUSED, Waiver.State.REVOKED])
                          .select_related("item", "requested_by", "decided_by").order_by("expires_on"))
    for waiver in review.waivers:
        waiver.item = by_pk.get(waiver.item_id, waiver.item)
    review.last_approval = (Approval.objects.filter(release=release, decision=Approval.Decision.APPROVED)
                            .select_related("approver", "requirement").order_by("-created_at").first())
    if review.last_approval is not None:
        events = (AuditEvent.objects.filter(release=release, object_type="releaseitem",
                                            created_at__gt=review.last_approval.created_at)
                  .order_by("id").values_list("object_id", "action", "actor_name"))
        seen: dict[int, list[str]] = {}
        for object_id, action, actor in events:
            if object_id.isdigit() and int(object_id) in by_pk:
                seen.setdefault(int(object_id), []).append(f"{action.rsplit('.', 1)[-1].replace('_', ' ')} by {actor}")
        review.changed_since_approval = [ReviewEntry(by_pk[pk], "; ".join(dict.fromkeys(what)))
                                         for pk, what in sorted(seen.items(), key=lambda kv: by_pk[kv[0]].order)]
    review.params_changed = _params_changed(release, by_pk)
    if review.not_applicable:
        reasons = _not_applicable_reasons([entry.item.pk for entry in review.not_applicable])
        for entry in review.not_applicable:
            entry.note = reasons.get(entry.item.pk, "no reason recorded")
    return review


def _params_changed(release, by_pk: dict) -> list[ReviewEntry]:
    """Items whose check judges by params set on this release rather than the template's: loosening a
    threshold decides a verdict, so the approver sees who set what. The latest setting per item."""
    events = (AuditEvent.objects.filter(release=release, action="checklists.item.check_params_changed")
              .order_by("id").values_list("object_id", "actor_name", "before", "after"))
    latest: dict[int, str] = {}
    for object_id, actor, before, after in events:
        if object_id.isdigit() and int(object_id) in by_pk:
            was, now = (before or {}).get("probe_params"), (after or {}).get("probe_params")
            latest[int(object_id)] = f"{actor} set {canonical_json(now)} (was {canonical_json(was)})"
    return [ReviewEntry(by_pk[pk], note) for pk, note in sorted(latest.items(), key=lambda kv: by_pk[kv[0]].order)]


def _who(user) -> str:
    if user is None:
        return "nobody recorded"
    return user.get_full_name() or user.get_username()


def _not_applicable_reasons(item_ids: list[int]) -> dict[int, str]:
    """The reason given with each item's latest change that carried one. One query."""
    reasons = {}
    for object_id, after in (AuditEvent.objects.filter(object_type="releaseitem",
                                                       object_id__in=[str(pk) for pk in item_ids],
                                                       after__has_key="reason")
                             .order_by("id").values_list("object_id", "after")):
        reasons[int(object_id)] = after.get("reason", "")
    return reasons
