"""Probe runs: creating them, executing them once, and what their results do to a release.

A run collects one snapshot (only the kinds the release's bound probes read), evaluates every bound
probe, and stores all results, evidence, item changes and audit events in one transaction. Running
the same run twice stores one set of results: the final transaction locks the run row and does
nothing if the run already finished.
"""
import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from checklists.audit import canonical_json, record
from checklists.models import Evidence, Release, ReleaseItem
from checklists.services.items import ItemConflict, Source, item_change, item_record_check
from checklists.signoff.services import lock_release_for_item_change
from probes import bundles, collection, crypto, cluster_collector as live
from probes.endpoints import endpoints_for
from checklists import deciders
from probes.engine.artifacts import ARTIFACT_CHECKS, FORMATS as ARTIFACT_FORMATS, judge_artifact
from probes.engine import podspecs, registry
from probes.engine.bindings import group
from probes.engine.outcome import Outcome, ParamsError
from probes.engine.evaluate import Binding, ProbeResultData, evaluate, kinds_needed
from probes.engine.manifests import ManifestError
from probes.models import Cluster, ObservabilityEndpoint, ProbeResult, ProbeRun, RunState, probe_bound
from readiness import jobs, safe_yaml

logger = logging.getLogger(__name__)

CHECK_TIMEOUT = (3.0, 5.0)  # (connect, read) seconds for the reachability check of a cluster
_ACTIVE = (RunState.QUEUED, RunState.RUNNING)
IMAGES_SCANNED = "artifact.sarif.images-scanned"
# Items a person decided are not for a probe to overturn; their results are still recorded.
_PERSON_DECIDED = (ReleaseItem.Status.WAIVED, ReleaseItem.Status.NOT_APPLICABLE)


def _visibility_timeout() -> float:
    return settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", settings.CELERY_TASK_TIME_LIMIT * 4)


# Probe runs as background jobs (readiness.jobs). A running run may be claimed again at once: the task is
# acks_late, so a second delivery means the first worker died.
RUNS = jobs.JobKind(
    model=ProbeRun, task="probes.tasks.run_probes", open_states=_ACTIVE,
    waiting_state=RunState.QUEUED, claimed_state=RunState.RUNNING, failed_state=RunState.FAILED,
    note_field="message", reclaim_live=True,
    claim_update={"state": RunState.RUNNING, "finished_at": None},
    max_attempts=lambda: settings.READINESS_PROBE_MAX_ATTEMPTS,
    claim_expires=lambda: settings.CELERY_TASK_TIME_LIMIT + 60,
    lost_after=lambda: _visibility_timeout() + settings.CELERY_TASK_TIME_LIMIT,
    on_failed=lambda run: _audit_failed(run),
    select_related=("release", "cluster"),
)


class ProbeRunError(ValueError):
    """A run cannot be created as asked; the message says why."""


class RetryLater(Exception):
    """A transient collector failure on an attempt that may still be retried (wraps the CollectError)."""


# --- clusters ------------------------------------------------------------------------------------
def cluster_create(*, name: str, kubeconfig: str | None, context: str = "", description: str = "",
                   by=None) -> Cluster:
    """Store a cluster; `kubeconfig` None means the in-cluster service account.

    The kubeconfig is checked (parsed, self-contained) and encrypted with READINESS_SECRETS_KEYS;
    raises crypto.SecretKeyError when no key is configured and live.KubeconfigError when unusable.
    """
    if kubeconfig is not None:
        live.parse_kubeconfig(kubeconfig, context=context or None)
        encrypted = crypto.encrypt(kubeconfig, settings.READINESS_SECRETS_KEYS)
        auth = Cluster.Auth.KUBECONFIG
    else:
        encrypted, auth = "", Cluster.Auth.IN_CLUSTER
    with transaction.atomic():
        cluster = Cluster.objects.create(name=name, description=description, auth=auth,
                                         kubeconfig_encrypted=encrypted, context=context)
        # Never the kubeconfig, not even hashed: the audit trail is readable by auditors.
        record("probes.cluster.created", actor=by, obj=cluster,
               after={"name": name, "auth": auth, "context": context})
    return cluster


def cluster_kubeconfig(cluster: Cluster) -> str | None:
    """The decrypted kubeconfig text, or None for in-cluster; raises crypto.SecretKeyError."""
    if cluster.auth == Cluster.Auth.IN_CLUSTER:
        return None
    return crypto.decrypt(cluster.kubeconfig_encrypted, settings.READINESS_SECRETS_KEYS)


def cluster_check(*, cluster: Cluster, by=None) -> Cluster:
    """Ask the cluster's /version with a short timeout and store its reachability. Network I/O."""
    try:
        live.collect_cluster([], kubeconfig=cluster_kubeconfig(cluster), context=cluster.context or None,
                             source=f"cluster:{cluster.name}", timeout=CHECK_TIMEOUT, retries=0)
    except (live.CollectError, crypto.SecretKeyError) as exc:
        _cluster_status(cluster, exc)
    else:
        _cluster_status(cluster, None)
    record("probes.cluster.checked", actor=by, obj=cluster,
           after={"status": cluster.last_status, "message": cluster.last_message})
    return cluster


def _cluster_status(cluster: Cluster, exc: Exception | None) -> None:
    if exc is None:
        status, message = "reachable", ""
    elif isinstance(exc, live.ClusterUnreachable):
        status, message = "unreachable", str(exc)
    elif isinstance(exc, live.ClusterForbidden):
        status, message = "forbidden", str(exc)
    else:
        status, message = "error", str(exc)
    cluster.last_status, cluster.last_message, cluster.last_checked_at = status, message, timezone.now()
    cluster.save(update_fields=["last_status", "last_message", "last_checked_at"])


# --- creating runs -------------------------------------------------------------------------------
def release_bindings(release: Release) -> list[Binding]:
    """The release's probe-bound items grouped into bindings (one per probe and params). One query."""
    items = release.items.filter(probe_bound()).order_by("order").values_list("key", "probe_id", "probe_params")
    return group({key: {"probe": probe_id, "params": params or {}} for key, probe_id, params in items})


def run_create(*, release: Release, cluster: Cluster | None = None, bundle: bundles.Bundle | None = None,
               bundle_name: str = "", trigger: str = ProbeRun.Trigger.MANUAL, by=None,
               queue: bool = True) -> ProbeRun:
    """Create a queued run for `release` on a cluster or a manifest bundle; queue its task on commit.

    The returned run's `enqueued` (a jobs.Enqueued, None with queue=False) says whether the message
    reached the broker: when it is down the run stays queued and the sweeper sends it once it is back.
    """
    if (cluster is None) == (bundle is None):
        raise ProbeRunError("Choose either a cluster or a manifest bundle.")
    if not release.items.filter(probe_bound()).exists():
        raise ProbeRunError("No item of this release is bound to a probe.")
    with transaction.atomic():
        run = ProbeRun.objects.create(release=release, cluster=cluster, trigger=trigger, requested_by=by,
                                      bundle_name=bundle_name[:255])
        if bundle is not None:
            run.bundle.save(f"run-{run.pk}.tar.gz", ContentFile(bundle.to_targz()), save=True)
        record("probes.run.created", actor=by, obj=run, release=release,
               after={"source": run.source_label, "trigger": trigger})
        run.enqueued = jobs.job_enqueue(RUNS, run.pk) if queue else None
    return run


# --- executing runs ------------------------------------------------------------------------------
@dataclass
class Execution:
    """What `run_execute` did: the run as it ended, and the evaluated results (empty on a no-op)."""

    run: ProbeRun | None
    results: list[ProbeResultData] = field(default_factory=list)


def run_claim(run_id: int) -> ProbeRun | None:
    """Take the run for this attempt: queued or running (a redelivered task) → running, attempts+1.

    Returns None when there is nothing to do: the run finished, or it used up its attempts (then it is
    marked failed). See jobs.job_claim: the conditional UPDATE is the idempotence guard.
    """
    return jobs.job_claim(RUNS, run_id)


def run_execute(*, run_id: int, final_attempt: bool = True) -> Execution:
    """Claim and execute a run. Network I/O (the cluster), then one transaction.

    A transient collector failure raises RetryLater unless this is the final attempt (the task
    retries then); any other collector failure ends the run in `error` with the collector's message.
    """
    run = run_claim(run_id)
    if run is None:
        return Execution(None)
    if run.trigger == ProbeRun.Trigger.UPLOAD:
        return _judge_artifact_run(run)
    if run.is_collection:
        return _collect_run(run, final_attempt=final_attempt)
    bindings = release_bindings(run.release) if run.release_id else []
    try:
        snapshot, stats = _collect(run, bindings)
    except live.CollectError as exc:
        if exc.transient and not final_attempt:
            _requeue(run, f"Retrying: {exc}")
            _update_cluster(run, exc)
            raise RetryLater(str(exc)) from exc
        return Execution(_finish_error(run, str(exc), exc))
    except (ManifestError, bundles.BundleError, crypto.SecretKeyError) as exc:
        return Execution(_finish_error(run, str(exc), None))
    results = evaluate(snapshot, bindings, allow_exemptions=settings.READINESS_ALLOW_EXEMPTIONS)
    stats["images"] = podspecs.images(snapshot)  # what the release's image scan is judged against
    _update_cluster(run, None)
    return Execution(_store(run, results, stats, note=getattr(snapshot, "note", "")), results)


def _collect(run: ProbeRun, bindings: list[Binding]):
    kinds = sorted(kinds_needed(bindings))
    if run.cluster_id:
        stats = live.CollectStats()
        snapshot = live.collect_cluster(kinds, kubeconfig=cluster_kubeconfig(run.cluster),
                                        context=run.cluster.context or None,
                                        source=f"cluster:{run.cluster.name}", stats=stats)
        return snapshot, {"calls": stats.calls, "retries": stats.retries, "objects": stats.objects,
                          "collect_seconds": round(stats.elapsed, 3), "kinds": len(kinds)}
    with run.bundle.open("rb") as handle:
        bundle = bundles.open_targz(handle.read())
    # In memory: member names are never paths on our disk (see probes.bundles).
    snapshot = bundles.load_bundle(bundle, source=run.bundle_name or "bundle")
    objects = {kind: len(items) for kind, items in snapshot.objects.items()}
    return snapshot, {"files": len(bundle.files), "objects": objects, "kinds": len(kinds)}


def _requeue(run: ProbeRun, message: str) -> None:
    ProbeRun.objects.filter(pk=run.pk, state=RunState.RUNNING).update(state=RunState.QUEUED, message=message)


def _update_cluster(run: ProbeRun, exc: Exception | None) -> None:
    if run.cluster_id:
        _cluster_status(run.cluster, exc)


def _finish_error(run: ProbeRun, message: str, exc: live.CollectError | None) -> ProbeRun:
    if exc is not None:
        _update_cluster(run, exc)
    with transaction.atomic():
        locked = ProbeRun.objects.select_for_update(no_key=True).get(pk=run.pk)
        if locked.state != RunState.RUNNING:
            return locked
        locked.state, locked.message, locked.finished_at = RunState.ERROR, message, timezone.now()
        locked.save(update_fields=["state", "message", "finished_at"])
        record("probes.run.finished", actor=None, obj=locked, release=locked.release,
               after={"state": locked.state, "message": message, "attempts": locked.attempts})
    return locked


def run_fail(*, run_id: int, message: str) -> ProbeRun | None:
    """End an unfinished run as `failed` (the run broke, not the source). No-op on a finished run."""
    return jobs.job_fail(RUNS, run_id, message)


def _audit_failed(run: ProbeRun) -> None:
    record("probes.run.finished", actor=None, obj=run, release=run.release,
           after={"state": run.state, "message": run.message, "attempts": run.attempts})


def result_json(result: ProbeResult) -> str:
    """The canonical JSON of a stored result: what its evidence's SHA-256 is computed over."""
    content = {
        "run": result.run_id, "item_key": result.item_key, "probe_id": result.probe_id,
        "status": result.status, "summary": result.summary, "findings": result.findings,
        "exempted": result.exempted, "observed": result.observed,
    }
    if result.findings_omitted:  # only then: results stored before the caps keep their hashes
        content["findings_total"] = result.findings_total
    return canonical_json(content)


FIELD_MAX = 500  # characters of one finding field (object, field, message, source) that are stored
OBSERVED_MAX_BYTES = 64 * 1024  # a probe's observed data larger than this is summarised, not stored


def _clip(value, limit: int = FIELD_MAX):
    if isinstance(value, str) and len(value) > limit:
        return value[: limit - 1] + "…"
    return value


def _finding(finding) -> dict:
    data = {key: _clip(value) for key, value in finding.as_dict().items()}
    if finding.source:
        data["source"], data["line"] = _clip(finding.source), finding.line
    return data


@dataclass
class FindingsBudget:
    """What a run stores of its findings: at most `per_probe` per result and `per_run` in all; the rest
    is counted (ProbeResult.findings_total) and shown as "and N more". A run over ten thousand objects
    can find as many faults, and every page, report and evidence hash carries what was stored."""

    per_probe: int
    per_run: int

    def take(self, findings: list) -> list:
        kept = findings[: max(0, min(self.per_probe, self.per_run))]
        self.per_run -= len(kept)
        return kept


def _observed(observed: dict) -> dict:
    text = canonical_json(observed)
    if len(text.encode()) <= OBSERVED_MAX_BYTES:
        return json.loads(text)
    return {"truncated": f"the observed data ({len(text.encode()):,} bytes) is larger than "
                         f"{OBSERVED_MAX_BYTES // 1024} KB and was not stored"}


def _store(run: ProbeRun, results: list[ProbeResultData], stats: dict, *, note: str = "") -> ProbeRun:
    """Store every result, evidence and item change of the run in one transaction."""
    with transaction.atomic():
        locked = ProbeRun.objects.select_for_update(no_key=True, of=("self",)).select_related("release").get(pk=run.pk)
        if locked.state != RunState.RUNNING:  # another delivery of the task finished it first
            return locked
        release = locked.release
        items = {}
        if release is not None:
            # Every item row, then the release row, before the first audit event: the order a person's
            # item change and a sign-off step take them too (see lock_release_for_item_change).
            items = {i.key: i for i in release.items.select_for_update(no_key=True).order_by("pk")}
            release = lock_release_for_item_change(release.pk)
        rows = []
        budget = FindingsBudget(settings.READINESS_FINDINGS_PER_PROBE, settings.READINESS_FINDINGS_PER_RUN)
        for data in results:
            # JSON round trip: what the evidence hash covers is exactly what the database holds.
            kept = budget.take(data.outcome.findings)
            findings = json.loads(canonical_json([_finding(f) for f in kept]))
            observed = _observed(data.outcome.observed)
            exempted = [_clip(str(e)) for e in list(data.outcome.exempted)[: settings.READINESS_FINDINGS_PER_PROBE]]
            for key in data.items:
                rows.append(ProbeResult(
                    run=locked, item=items.get(key), item_key=key, probe_id=data.probe_id,
                    status=data.status, summary=data.outcome.summary[:500], findings=findings,
                    findings_total=len(data.outcome.findings), exempted=exempted, observed=observed))
        ProbeResult.objects.bulk_create(rows)
        counts = {s: 0 for s in ProbeResult.Status.values}
        changed = conflicts = 0
        now = timezone.now()
        artifact = locked.trigger == ProbeRun.Trigger.UPLOAD
        # An artifact's verdict is as old as the file it judged, however late it is judged again.
        checked_at = locked.evidence.created_at if artifact and locked.evidence_id else now
        for result in rows:
            counts[result.status] += 1
            if result.item is None or (artifact and result.status == ProbeResult.Status.ERROR):
                # A file that cannot be judged (malformed, too large, wrong format) changes nothing on
                # the item: the result row holds the reason, which the item page shows.
                continue
            outcome = _apply(result, release, checked_at)
            changed += outcome == "changed"
            conflicts += outcome == "conflict"
        stats = {**stats, "results": counts, "items_changed": changed, "conflicts": conflicts}
        message = (f"{counts['pass']} passed, {counts['fail']} failed, {counts['error']} errors, "
                   f"{counts['skip']} skipped")
        if conflicts:
            message += f"; {conflicts} item(s) changed by a person meanwhile were left as they were"
        if note:
            message += f". {note}"
        locked.state, locked.message, locked.stats, locked.finished_at = RunState.DONE, message, stats, now
        locked.save(update_fields=["state", "message", "stats", "finished_at"])
        record("probes.run.finished", actor=None, obj=locked, release=release,
               after={"state": locked.state, "message": message, "attempts": locked.attempts,
                      "results": counts})
    return locked


def _apply(result: ProbeResult, release: Release, now) -> str:
    """Record `result` on its item: evidence, probe fields, status. Returns unchanged/changed/conflict."""
    item = result.item
    if result.status in (ProbeResult.Status.PASS, ProbeResult.Status.FAIL):
        # Pass and fail back the item's state; error and skip decide nothing and attach nothing
        # (the result row itself records them, and the item shows the last probe status).
        body = result_json(result).encode()
        Evidence.objects.create(item=item, kind=Evidence.Kind.PROBE, probe_result=result,
                                sha256=hashlib.sha256(body).hexdigest(), size=len(body),
                                content_type="application/json")
    for attempt in (1, 2):
        try:
            return _apply_to_item(item, result, release, now)
        except ItemConflict:
            if attempt == 2:
                return "conflict"
            # A person saved the item since we read it: read it again and decide on the new state once.
            item = ReleaseItem.objects.get(pk=item.pk)
            item.release = release
    return "conflict"


def _apply_to_item(item: ReleaseItem, result: ProbeResult, release: Release, now) -> str:
    """The verdict as a change through the items entry point, which locks, audits and tells sign-off."""
    changes = {"probe_status": result.status, "probe_checked_at": now}
    if result.status in (ProbeResult.Status.PASS, ProbeResult.Status.FAIL) and item.status not in _PERSON_DECIDED:
        passed = result.status == ProbeResult.Status.PASS
        regressed = (not passed and release.state == Release.State.APPROVED
                     and (item.probe_status == ProbeResult.Status.PASS or item.status == ReleaseItem.Status.DONE))
        changes |= {"status": ReleaseItem.Status.DONE if passed else ReleaseItem.Status.FAILED,
                    "decided_by_probe": True, "regressed": regressed or (item.regressed and not passed)}
    if all(getattr(item, name) == value for name, value in changes.items() if name != "probe_checked_at"):
        # Checked again, same verdict: refresh when, without a new version (which would make a person's
        # open edit form conflict for nothing).
        item_record_check(item=item, checked_at=now)
        return "unchanged"
    item_change(item=item, changes=changes, by=None, expected_version=item.version, source=Source.PROBE,
                detail={"run": result.run_id, "result": result.pk, "probe": result.probe_id,
                        "summary": result.summary})
    return "changed"


# --- artifact runs: a file attached to an item bound to an artifact check ----------------------
def artifact_run_create(*, item: ReleaseItem, evidence: Evidence, by=None, queue: bool = True) -> ProbeRun:
    """Queue the judging of file `evidence` by the artifact check `item` is bound to (on commit).

    Never judges in the request: the file may be large. The run is a ProbeRun with trigger "upload"
    and the evidence it judges, so it has the same claim, retry, sweep and audit as any probe run and
    its verdict is a ProbeResult like a probe's.
    """
    if deciders.kind_of(item.probe_id) != deciders.ARTIFACT:
        raise ProbeRunError(f"{item.key} is not bound to an artifact check.")
    if evidence.kind != Evidence.Kind.FILE or evidence.item_id != item.pk:
        raise ProbeRunError("Only a file attached to this item can be judged.")
    with transaction.atomic():
        run = ProbeRun.objects.create(release_id=item.release_id, evidence=evidence, requested_by=by,
                                      trigger=ProbeRun.Trigger.UPLOAD, bundle_name=evidence.filename[:255])
        record("probes.run.created", actor=by, obj=run, release=item.release,
               after={"source": run.source_label, "trigger": run.trigger, "item": item.key,
                      "check": item.probe_id, "sha256": evidence.sha256})
        run.enqueued = jobs.job_enqueue(RUNS, run.pk) if queue else None
    return run


def artifact_rejudge(*, item: ReleaseItem, by) -> ProbeRun:
    """Judge the item's latest file again (after its check's params changed, or an error was fixed)."""
    evidence = item.evidence.filter(kind=Evidence.Kind.FILE).order_by("-created_at", "-pk").first()
    if evidence is None:
        raise ProbeRunError("Attach the file to judge first: no file is attached to this item.")
    return artifact_run_create(item=item, evidence=evidence, by=by)


def run_repeat(*, release: Release, by=None) -> ProbeRun:
    """Start the release's last probe run again: on the same cluster, or on the same manifests."""
    last = (release.probe_runs.exclude(trigger=ProbeRun.Trigger.UPLOAD)
            .filter(Q(cluster__isnull=False) | ~Q(bundle="")).select_related("cluster").first())
    if last is None:
        raise ProbeRunError("No probe run to repeat yet: start one on a cluster or on manifests from the release page.")
    if last.cluster_id:
        return run_create(release=release, cluster=last.cluster, by=by)
    try:
        with last.bundle.open("rb") as handle:
            bundle = bundles.open_targz(handle.read())
    except (FileNotFoundError, bundles.BundleError):
        raise ProbeRunError("The manifests of the last run are no longer stored: upload them again "
                            "from the release page.") from None
    return run_create(release=release, bundle=bundle, bundle_name=last.bundle_name, by=by)


PARAMS_MAX_BYTES = 16 * 1024


def item_set_params(*, item: ReleaseItem, text: str, by, expected_version: int) -> str:
    """Set the params the item's check judges by (YAML or JSON, validated by the check), through the
    items' entry point; an artifact check judges the latest file again. Returns a note for the person.
    Raises ProbeRunError for text that is not a valid params mapping, naming the field."""
    found = registry.find(item.probe_id)
    if found is None:
        raise ProbeRunError("This item is not decided by a check, so it has no params.")
    if len(text.encode()) > PARAMS_MAX_BYTES:
        raise ProbeRunError(f"params: more than {PARAMS_MAX_BYTES // 1024} KB")
    try:
        params = safe_yaml.load(text, name="params") or {}
    except safe_yaml.YamlError as exc:
        raise ProbeRunError(str(exc)) from None
    if not isinstance(params, dict):
        raise ProbeRunError("params: expected a mapping of names to values, e.g. {normal_rps: 120}")
    try:
        found[1].parse_params(params)
    except ParamsError as exc:
        raise ProbeRunError(f"params: {exc}") from None
    params = json.loads(canonical_json(params))  # what the database holds, dates and all as JSON
    item_change(item=item, changes={"probe_params": params}, by=by, expected_version=expected_version,
                source=Source.PARAMS)
    if found[0] == deciders.ARTIFACT and item.evidence.filter(kind=Evidence.Kind.FILE).exists():
        run = artifact_rejudge(item=item, by=by)
        return f"Params saved; the latest file is being judged again with them (run {run.pk})."
    return "Params saved; they apply from the next run."


def on_file_evidence(*, evidence: Evidence, item: ReleaseItem, by) -> str | None:
    """The hook checklists calls when a file is attached (registered in ProbesConfig.ready)."""
    if deciders.kind_of(item.probe_id) != deciders.ARTIFACT:
        return None
    run = artifact_run_create(item=item, evidence=evidence, by=by)
    return f"Being judged by {item.probe_id} in the background (run {run.pk})."


def _judge_artifact_run(run: ProbeRun) -> Execution:
    """Read the run's file and judge it with its item's artifact check; store like a probe result."""
    evidence = run.evidence
    item = evidence.item if evidence is not None else None
    if item is None:
        return Execution(_finish_error(run, "The file to judge is no longer stored.", None))
    check_id = item.probe_id
    params = _release_params(item)
    try:
        outcome = _judge_file(evidence, check_id, params)
    except FileNotFoundError:
        return Execution(_finish_error(run, f"The stored file {evidence.filename} is missing.", None))
    check = ARTIFACT_CHECKS.get(check_id)
    data = ProbeResultData(check_id, check.title if check else check_id, [item.key], params, outcome)
    stats = {"artifact": {"filename": evidence.filename, "sha256": evidence.sha256, "size": evidence.size}}
    return Execution(_store(run, [data], stats), [data])


def _release_params(item: ReleaseItem) -> dict:
    """The item's params, and for the image-scan check the images of the release's last finished
    cluster or manifest run (unless the item names its images itself)."""
    params = dict(item.probe_params or {})
    if item.probe_id == IMAGES_SCANNED and not params.get("images"):
        last = (ProbeRun.objects.filter(release_id=item.release_id, state=RunState.DONE)
                .filter(Q(cluster__isnull=False) | ~Q(bundle="")).order_by("-finished_at").only("stats").first())
        params["images"] = list((last.stats or {}).get("images") or []) if last else []
    return params


def _judge_file(evidence: Evidence, check_id: str, params: dict) -> Outcome:
    observed = {"filename": evidence.filename, "size": evidence.size, "sha256": evidence.sha256, "check": check_id}
    check = ARTIFACT_CHECKS.get(check_id)
    if check is None:
        return Outcome("error", f"The item is bound to {check_id!r}, which is no artifact check.",
                       observed={**observed, "error": "unknown-check"})
    limit = ARTIFACT_FORMATS[check.format].max_bytes
    if evidence.size > limit:  # not even read: the format's budget is what one judgement may cost
        return Outcome("error", f"{evidence.filename}: {evidence.size / (1024 * 1024):.1f} MB is over the "
                       f"{limit // (1024 * 1024)} MB limit for {check.format} files", observed={**observed, "error": "too-large"})
    with evidence.file.open("rb") as handle:
        content = handle.read(limit + 1)
    try:
        return judge_artifact(check_id, content, evidence.filename, params)
    except ParamsError as exc:
        return Outcome("error", f"The binding's params are not valid: {exc}", observed={**observed, "error": "params"})


# --- collection runs: the release's observability endpoints ------------------------------------
def collection_run_create(*, release: Release, trigger: str = ProbeRun.Trigger.MANUAL, by=None,
                          queue: bool = True) -> ProbeRun:
    """Queue a run that reads the observability endpoints serving the release's environment and judges
    its collector-bound items (on commit). The endpoints are fixed when the run is created."""
    if not collection.collector_bindings(release):
        raise ProbeRunError("No item of this release is bound to a collector check.")
    endpoints = list({e.pk: e for e in endpoints_for(release.environment).values()}.values())
    if not endpoints:
        raise ProbeRunError(f"No observability endpoint serves the {release.environment} environment: "
                            f"an admin adds one on the Observability page.")
    with transaction.atomic():
        run = ProbeRun.objects.create(release=release, trigger=trigger, requested_by=by)
        run.endpoints.set(endpoints)
        record("probes.run.created", actor=by, obj=run, release=release,
               after={"source": run.source_label, "trigger": trigger,
                      "endpoints": sorted(e.name for e in endpoints)})
        run.enqueued = jobs.job_enqueue(RUNS, run.pk) if queue else None
    return run


def _collect_run(run: ProbeRun, *, final_attempt: bool) -> Execution:
    """Read the run's endpoints and judge; a transient failure retries the whole run (reading is cheap)
    unless this is the final attempt, when the checks that needed the endpoint end in error."""
    collected = collection.collect_release(run.release, list(run.endpoints.all()))
    if collected.transient and not final_attempt:
        message = f"Retrying: {collected.transient[0]}"
        _requeue(run, message)
        raise RetryLater(message)
    return Execution(_store(run, collected.results, collected.stats), collected.results)


def releases_collect(*, now=None) -> list[ProbeRun]:
    """Queue a scheduled collection for every open or recently approved release with collector-bound
    items and an endpoint serving its environment, unless one is still active."""
    now = now or timezone.now()
    recent = now - timedelta(days=settings.READINESS_REPROBE_APPROVED_DAYS)
    if not ObservabilityEndpoint.objects.exists():
        return []
    active = ProbeRun.objects.filter(state__in=_ACTIVE, cluster__isnull=True, bundle="", evidence__isnull=True).exclude(
        trigger=ProbeRun.Trigger.UPLOAD).values("release_id")
    releases = Release.objects.filter(
        Q(state__in=[Release.State.IN_PROGRESS, Release.State.AWAITING_SIGNOFF])
        | Q(state=Release.State.APPROVED, updated_at__gte=recent)
    ).exclude(pk__in=active).filter(pk__in=ReleaseItem.objects.filter(probe_id__startswith="collector.").values("release_id"))
    runs = []
    for release in releases:
        try:
            runs.append(collection_run_create(release=release, trigger=ProbeRun.Trigger.SCHEDULE))
        except ProbeRunError:  # no endpoint for its environment: nothing to read
            continue
    return runs


# --- housekeeping (Celery beat) ------------------------------------------------------------------
def runs_sweep_stuck(*, now=None) -> dict[str, list[int]]:
    """Send again runs the broker never got, requeue runs a dead worker left behind, fail the hopeless.

    Queued and noted jobs.QUEUE_DOWN: the broker was down when it was asked for. Running longer than the
    hard time limit (plus a margin): no worker is on it any more (the limit kills it). Queued, never
    started, longer than the broker's visibility timeout: its message is lost. Runs with attempts left
    are queued again, the others end failed.
    """
    return jobs.jobs_sweep(RUNS, now=now)


def releases_reprobe(*, now=None) -> list[ProbeRun]:
    """Queue a scheduled run for every open or recently approved release, on its last cluster.

    Releases without a cluster run, without bound items, or with a run still active are left alone.
    """
    now = now or timezone.now()
    recent = now - timedelta(days=settings.READINESS_REPROBE_APPROVED_DAYS)
    releases = Release.objects.filter(
        Q(state__in=[Release.State.IN_PROGRESS, Release.State.AWAITING_SIGNOFF])
        | Q(state=Release.State.APPROVED, updated_at__gte=recent)
    ).exclude(probe_runs__state__in=_ACTIVE).filter(pk__in=ReleaseItem.objects.filter(probe_bound()).values("release_id")).distinct()
    runs = []
    for release in releases:
        last = release.probe_runs.filter(cluster__isnull=False).select_related("cluster").first()
        if last is None:
            continue
        runs.append(run_create(release=release, cluster=last.cluster, trigger=ProbeRun.Trigger.SCHEDULE))
    return runs
