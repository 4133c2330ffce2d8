"""Backups of persistent data by Velero: schedules covering every namespace with volumes, kept 30 days."""
import re
from dataclasses import dataclass

from probes.engine.outcome import Finding, Outcome, fail, judge, probe, skip
from probes.engine.catalogue.common import not_installed
from probes.engine.objects import dig, is_true, name, namespace
from probes.engine.podspecs import STATEFULSET
from probes.engine.scope import AppScope, app_namespaces
from probes.engine.snapshot import Snapshot

SCHEDULE = "velero.io/v1/Schedule"
_GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")
_UNIT = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
PVC = "v1/PersistentVolumeClaim"


def _namespaces_with_volumes(snap: Snapshot, p: AppScope) -> list[str]:
    chosen = app_namespaces(snap, p)
    found = {namespace(c) for c in snap.of(PVC)}
    found |= {namespace(s) for s in snap.of(STATEFULSET) if dig(s, "spec.volumeClaimTemplates")}
    return sorted(found & chosen)


def _covers(schedule: dict, ns: str) -> bool:
    template = dig(schedule, "spec.template", {}) or {}
    included = template.get("includedNamespaces") or ["*"]
    excluded = template.get("excludedNamespaces") or []
    return ("*" in included or ns in included) and ns not in excluded


def _active(schedule: dict) -> bool:
    template = dig(schedule, "spec.template", {}) or {}
    # snapshotVolumes: false with no file-system backup copies no volume data.
    copies_volumes = template.get("snapshotVolumes") is not False or is_true(template.get("defaultVolumesToFsBackup"))
    return not is_true(dig(schedule, "spec.paused")) and bool(dig(schedule, "spec.schedule")) and copies_volumes


@probe(
    "backups.schedules",
    "Persistent data is backed up on a schedule",
    kinds=[SCHEDULE, PVC, STATEFULSET, "v1/Namespace"],
    params=AppScope,
    items=["storage.backup-strategy-for-persistent-volumes-is-in-place",
           "backup-strategy.automated-backups-for-all-persistent-data"],
)
def schedules(snap: Snapshot, p: AppScope) -> Outcome:
    """Every application namespace holding PersistentVolumeClaims (or StatefulSets with claim
    templates) is covered by an active Velero Schedule (not paused, with a cron schedule) that
    copies volume data (snapshots, or file-system backup)."""
    wanted = _namespaces_with_volumes(snap, p)
    if not wanted:
        return skip("no application namespace holds persistent volumes")
    found = [s for s in snap.of(SCHEDULE) if _active(s)]
    if not snap.of(SCHEDULE):
        return fail(not_installed(snap, SCHEDULE, "Velero Schedule"), [
            Finding(f"Namespace/{ns}", "velero.io/v1/Schedule", "no backup schedule covers this namespace's volumes") for ns in wanted])
    findings = [Finding(f"Namespace/{ns}", "velero.io/v1/Schedule.spec.template.includedNamespaces",
                        "no active Velero Schedule backs up this namespace's volumes; add it to a schedule's includedNamespaces")
                for ns in wanted if not any(_covers(s, ns) for s in found)]
    return judge(findings, len(wanted), "namespaces with persistent volumes", observed={"schedules": len(found)})


@dataclass(frozen=True)
class RetentionParams:
    min_days: int = 30


@probe(
    "backups.retention",
    "Backups are kept long enough",
    kinds=[SCHEDULE],
    params=RetentionParams,
    items=["backup-strategy.backup-retention-policy-is-defined-30-days"],
)
def retention(snap: Snapshot, p: RetentionParams) -> Outcome:
    """Every Velero Schedule sets spec.template.ttl to at least `min_days` (an unset ttl leaves it to
    the server's --default-backup-ttl, which no manifest shows: not a defined policy)."""
    schedules_ = snap.of(SCHEDULE)
    if not schedules_:
        return fail(not_installed(snap, SCHEDULE, "Velero Schedule"))
    findings = []
    for s in schedules_:
        ref, ttl = f"{namespace(s)}/Schedule/{name(s)}", dig(s, "spec.template.ttl")
        seconds = _go_duration(str(ttl)) if ttl else None
        if ttl is None:
            findings.append(Finding(ref, "spec.template.ttl", f"no ttl: backups live as long as the server's default; set ttl: {p.min_days * 24}h0m0s"))
        elif seconds is None:
            findings.append(Finding(ref, "spec.template.ttl", f"ttl {ttl!r} is not a duration"))
        elif seconds < p.min_days * 86400:
            findings.append(Finding(ref, "spec.template.ttl", f"ttl {ttl} keeps backups {seconds / 86400:g} days; keep them at least {p.min_days} (ttl: {p.min_days * 24}h0m0s)"))
    return judge(findings, len(schedules_), "backup schedules")


def _go_duration(text: str) -> float | None:
    """Go durations as Velero writes them ("720h0m0s"); None when the text is not one."""
    parts = _GO_DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * _UNIT[u] for n, u in parts)
