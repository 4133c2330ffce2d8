"""Probe runs: start one on a manifest bundle upload or a cluster, or a collection from the observability
endpoints; read its state and results."""
import datetime
from typing import Any

from django.conf import settings
from django.http import Http404
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from api.auth import audited
from api.endpoints.releases import release_for
from api.errors import ApiError, responses
from api.pagination import Id
from checklists import permissions
from probes import permissions as probe_permissions
from probes import bundles
from probes.models import Cluster, ProbeRun
from probes.services import ProbeRunError, collection_run_create, run_create

router = Router(tags=["probe runs"])


class ResultOut(Schema):
    item: str
    probe_id: str
    status: str
    summary: str
    findings: list[dict[str, Any]]


class RunOut(Schema):
    id: int
    release: int
    state: str
    finished: bool
    source: str
    trigger: str
    message: str
    attempts: int
    stats: dict[str, Any]
    created_at: datetime.datetime
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    results: list[ResultOut] | None = None


def run_out(run: ProbeRun, *, results: bool = False) -> dict:
    data = {"id": run.pk, "release": run.release_id, "state": run.state,
            "finished": run.state not in (ProbeRun.State.QUEUED, ProbeRun.State.RUNNING),
            "source": run.source_label, "trigger": run.trigger, "message": run.message, "attempts": run.attempts,
            "stats": run.stats or {}, "created_at": run.created_at, "started_at": run.started_at,
            "finished_at": run.finished_at}
    if results:
        data["results"] = [{"item": r.item_key, "probe_id": r.probe_id, "status": r.status, "summary": r.summary,
                            "findings": r.findings} for r in run.results.order_by("item_key")]
    return data


RUNS = "/releases/{release_id}/probe-runs"


@router.get(RUNS, response=responses({200: list[RunOut]}), summary="A release's probe runs, newest first")
def run_list(request, release_id: Id):
    release = release_for(request, release_id)
    return [run_out(r) for r in release.probe_runs.select_related("cluster").order_by("-created_at")[:50]]


@router.post(RUNS, response=responses({202: RunOut}),
             summary="Start a probe run on uploaded manifests (bundle: YAML files, .zip or .tar.gz) or a cluster")
def run_start(request, release_id: Id, bundle: File[list[UploadedFile]] = None, cluster: Form[str] = ""):
    release = release_for(request, release_id)
    if not probe_permissions.can_run_probes(request.user, release):
        raise ApiError(403, "forbidden", "Only the release's manager and engineers of a team owning a probe-bound "
                                         "item run its probes.")
    uploads = bundle or []
    cluster = cluster.strip()
    if bool(uploads) == bool(cluster):
        raise ApiError(400, "invalid", "Send either manifest files in `bundle` or a cluster name in `cluster`.")
    target = files = None
    if cluster:
        target = Cluster.objects.filter(name=cluster).first()
        if target is None:
            raise ApiError(400, "invalid", f"No cluster named {cluster}.", {"field": "cluster"})
    else:
        if sum(f.size for f in uploads) > settings.READINESS_MAX_UPLOAD_BYTES:
            raise ApiError(413, "too_large", "The manifest upload is larger than the upload limit.")
        # The listing, names and sizes are checked now (a 400); the YAML is parsed by the worker, and a
        # broken file ends the run failed, naming the file and line.
        files = bundles.read_uploads(uploads)
    with audited(request):
        run = run_create(release=release, cluster=target, bundle=files,
                         bundle_name=", ".join(f.name for f in uploads), trigger=ProbeRun.Trigger.API,
                         by=request.user)
    return Status(202, run_out(run))


@router.post("/releases/{release_id}/collections", response=responses({202: RunOut}),
             summary="Start a collection from the observability endpoints serving the release's environment")
def collection_start(request, release_id: Id):
    release = release_for(request, release_id)
    if not probe_permissions.can_collect(request.user, release):
        raise ApiError(403, "forbidden", "Only the release's manager and engineers of a team owning a collector-bound "
                                         "item start its collections.")
    try:
        with audited(request):
            run = collection_run_create(release=release, trigger=ProbeRun.Trigger.API, by=request.user)
    except ProbeRunError as exc:
        raise ApiError(409, "no_endpoint", str(exc)) from None
    return Status(202, run_out(run))


@router.get(RUNS + "/{run_id}", response=responses({200: RunOut}), summary="A probe run's state and results")
def run_read(request, release_id: Id, run_id: Id):
    release = release_for(request, release_id)
    run = release.probe_runs.select_related("cluster").filter(pk=run_id).first()
    if run is None:
        raise Http404("No such probe run.")
    return run_out(run, results=True)
