"""The deploy gate's verdict: may this version of this service ship to this environment now?

It may when its release is approved, not drifted, no waiver behind it has expired, and no automated
evidence is older than the limit of its kind (READINESS_*_MAX_AGE_HOURS). Otherwise every reason is listed, each with a
stable code a pipeline can branch on.
"""
import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from checklists import permissions
from checklists.audit import record
from checklists.models import Approval, Release, ReleaseItem, Waiver
from checklists.signoff import services as signoff
from reports.services import latest_ready_pdf

NOT_FOUND = "not_found"
NOT_APPROVED = "not_approved"
BLOCKING_ITEMS = "blocking_items"
EXPIRED_WAIVERS = "expired_waivers"
DRIFT = "drift"
STALE_PROBES = "stale_probes"
MAX_LISTED = 20  # keys named per reason; the count says how many in all


@dataclass
class Verdict:
    service: str
    version: str
    environment: str
    release: Release | None = None
    reasons: list[dict] = field(default_factory=list)
    approval: dict | None = None
    checked_at: datetime.datetime = field(default_factory=timezone.now)

    @property
    def allowed(self) -> bool:
        return not self.reasons

    def refuse(self, code: str, message: str, keys: list[str] | None = None) -> None:
        keys = keys or []
        self.reasons.append({"code": code, "message": message, "items": keys[:MAX_LISTED], "count": len(keys)})


def _expired_waiver_keys(release: Release, today) -> list[str]:
    """Granted waivers past their date (the hourly sweep has not run yet), and expired ones whose item
    is not complete again."""
    due = Q(state=Waiver.State.GRANTED, expires_on__lte=today)
    lapsed = Q(state=Waiver.State.EXPIRED) & ~Q(item__status__in=ReleaseItem.COMPLETE)
    return sorted(set(Waiver.objects.filter(due | lapsed, item__release=release)
                      .values_list("item__key", flat=True)))


def gate_verdict(*, user, service: str, version: str, environment: str) -> Verdict:
    """Read everything the verdict needs; a release `user` may not see is "not found". About 10 queries."""
    verdict = Verdict(service, version, environment)
    release = (permissions.visible_releases(user).select_related("template_version__template")
               .filter(service=service, version=version, environment=environment).first())
    if release is None:
        verdict.refuse(NOT_FOUND, f"No release of {service} {version} for {environment}.")
        return verdict
    verdict.release = release
    now = verdict.checked_at
    if release.state != Release.State.APPROVED:
        verdict.refuse(NOT_APPROVED, f"The release is {release.get_state_display().lower()}, not approved.")
    blockers = signoff.signoff_blockers(release, now=now)
    if blockers.incomplete:
        verdict.refuse(BLOCKING_ITEMS, f"{len(blockers.incomplete)} required item(s) are not complete.",
                       [b.key for b in blockers.incomplete])
    expired = _expired_waiver_keys(release, timezone.localdate(now))
    if expired:
        verdict.refuse(EXPIRED_WAIVERS, f"{len(expired)} waiver(s) expired.", expired)
    if release.drifted:
        verdict.refuse(DRIFT, "A probe that passed at approval fails now, or a waiver expired after approval.",
                       list(release.items.filter(regressed=True).values_list("key", flat=True)))
    if blockers.stale:
        verdict.refuse(STALE_PROBES, f"{len(blockers.stale)} item(s) have automated evidence older than its "
                       f"freshness limit (probes {settings.READINESS_EVIDENCE_MAX_AGE_HOURS} h, artifacts "
                       f"{settings.READINESS_ARTIFACT_MAX_AGE_HOURS} h, collectors "
                       f"{settings.READINESS_COLLECTOR_MAX_AGE_HOURS} h).", [b.key for b in blockers.stale])
    if verdict.allowed:
        verdict.approval = _approval(release)
    return verdict


def _approval(release: Release) -> dict:
    approvals = (Approval.objects.filter(release=release, superseded_at__isnull=True,
                                         decision=Approval.Decision.APPROVED)
                 .select_related("approver", "requirement").order_by("created_at"))
    report = latest_ready_pdf(release)
    decisions = [{"requirement": a.requirement.name, "approver": a.approver.get_username(), "at": a.created_at,
                  "state_hash": a.state_hash} for a in approvals]
    return {
        "approved_at": max((d["at"] for d in decisions), default=None),
        "state_hash": signoff.release_state_hash(release),
        "approvals": decisions,
        "report": {"id": report.pk, "manifest_sha256": report.manifest_sha256,
                   "content_as_of": report.content_as_of} if report else None,
    }


def gate_record(verdict: Verdict, *, by, token, dry_run: bool) -> None:
    """Audit the decision: on the release when there is one, else on the token that asked."""
    record("api.gate.decided", actor=by, obj=verdict.release or token, release=verdict.release, after={
        "service": verdict.service, "version": verdict.version, "environment": verdict.environment,
        "allowed": verdict.allowed, "reasons": [r["code"] for r in verdict.reasons], "dry_run": dry_run,
        "state_hash": verdict.approval["state_hash"] if verdict.approval else None,
    })
