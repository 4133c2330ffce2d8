"""Clusters and probe runs in the browser. Objects come through the helpers of probes.permissions."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from checklists import deciders
from checklists.services.items import ItemConflict
from checklists.permissions import get_item_for_user, get_release_for_user
from probes.permissions import (can_collect, can_manage_clusters, can_run_probes, can_see_clusters,
                                get_probe_run_for_user)
from probes import collection, crypto, cluster_collector as live, endpoints, selectors, services
from probes.forms import ClusterForm, EndpointForm, RunProbesForm
from probes.models import Cluster, ObservabilityEndpoint
from readiness import jobs

PANEL_FINDINGS = 5  # findings per probe in the release's probe panel
RUN_PROBES_PER_PAGE = 20  # probes per page of a run's results (each with its stored findings)


def _clusters_visible(user) -> None:
    if not can_see_clusters(user):
        raise Http404("No such page.")


@require_GET
@login_required
def cluster_list(request):
    _clusters_visible(request.user)
    return render(request, "probes/cluster_list.html", {
        "clusters": selectors.clusters_with_last_run(request.user), "can_manage": can_manage_clusters(request.user)})


@require_http_methods(["GET", "POST"])
@login_required
def cluster_create(request):
    _clusters_visible(request.user)
    if not can_manage_clusters(request.user):
        raise PermissionDenied("Only admins add clusters.")
    form = ClusterForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            cluster = services.cluster_create(name=data["name"], kubeconfig=data["kubeconfig"],
                                              context=data["context"], description=data["description"],
                                              by=request.user)
        except (crypto.SecretKeyError, live.KubeconfigError) as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Cluster {cluster.name} added. Test it to see whether it is reachable.")
            return redirect("probes:cluster-list")
    return render(request, "probes/cluster_form.html", {"form": form}, status=400 if request.method == "POST" else 200)


@require_POST
@login_required
def cluster_test(request, pk):
    _clusters_visible(request.user)
    cluster = get_object_or_404(Cluster, pk=pk)
    if not can_manage_clusters(request.user):
        raise PermissionDenied("Only admins test clusters.")
    services.cluster_check(cluster=cluster, by=request.user)
    if cluster.last_status == "reachable":
        messages.success(request, f"Cluster {cluster.name} is reachable.")
    else:
        messages.error(request, f"Cluster {cluster.name} is {cluster.last_status}: {cluster.last_message}")
    return redirect("probes:cluster-list")


@require_GET
@login_required
def endpoint_list(request):
    """The observability endpoints: kind, URL, environment, auth kind and reachability, never a secret."""
    _clusters_visible(request.user)
    return render(request, "probes/endpoint_list.html", {
        "endpoints": ObservabilityEndpoint.objects.all(), "can_manage": can_manage_clusters(request.user)})


@require_http_methods(["GET", "POST"])
@login_required
def endpoint_create(request):
    _clusters_visible(request.user)
    if not can_manage_clusters(request.user):
        raise PermissionDenied("Only admins add observability endpoints.")
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        secret = data["secret"]
        try:
            endpoint = endpoints.endpoint_create(
                name=data["name"], kind=data["kind"], url=data["url"], environment=data["environment"],
                username=data["username"], password=secret if data["username"] else "",
                token="" if data["username"] else secret, verify_tls=data["verify_tls"], by=request.user)
        except (ValueError, crypto.SecretKeyError) as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Endpoint {endpoint.name} added. Test it to see whether it answers.")
            return redirect("probes:endpoint-list")
    return render(request, "probes/endpoint_form.html", {"form": form}, status=400 if request.method == "POST" else 200)


@require_POST
@login_required
def endpoint_check(request, pk):
    _clusters_visible(request.user)
    endpoint = get_object_or_404(ObservabilityEndpoint, pk=pk)
    if not can_manage_clusters(request.user):
        raise PermissionDenied("Only admins test observability endpoints.")
    endpoints.endpoint_check(endpoint=endpoint, by=request.user)
    if endpoint.last_status == ObservabilityEndpoint.Status.REACHABLE:
        messages.success(request, f"Endpoint {endpoint.name} answers.")
    else:
        messages.error(request, f"Endpoint {endpoint.name} is {endpoint.last_status}: {endpoint.last_message}")
    return redirect("probes:endpoint-list")


@require_POST
@login_required
def endpoint_delete(request, pk):
    _clusters_visible(request.user)
    endpoint = get_object_or_404(ObservabilityEndpoint, pk=pk)
    if not can_manage_clusters(request.user):
        raise PermissionDenied("Only admins remove observability endpoints.")
    endpoints.endpoint_delete(endpoint=endpoint, by=request.user)
    messages.success(request, f"Endpoint {endpoint.name} removed.")
    return redirect("probes:endpoint-list")


@require_POST
@login_required
def collect_create(request, pk):
    """Collect now: queue a collection from the endpoints serving the release's environment."""
    release = get_release_for_user(request.user, pk)
    if not can_collect(request.user, release):
        raise PermissionDenied("You may not start a collection on this release.")
    try:
        run = services.collection_run_create(release=release, by=request.user)
    except services.ProbeRunError as exc:
        messages.error(request, f"Not started: {exc}")
    else:
        _queued_message(request, run, f"Collection run {run.pk} queued on {run.source_label}. Its progress shows below.")
    if request.POST.get("back") == "probes":
        return redirect("probes:release-probes", pk=release.pk)
    return redirect(reverse("release-detail", args=[release.pk]) + "#probes")


def _queued_message(request, run, text: str) -> None:
    if run.enqueued is not None and run.enqueued.waiting_for_queue:
        messages.warning(request, f"{text} {jobs.QUEUE_DOWN}.")
    else:
        messages.success(request, text)


@require_GET
@login_required
def release_probes(request, pk):
    """The probe panel of a release: its runs, the latest run's results, and the Run probes form."""
    release = get_release_for_user(request.user, pk)
    context = _panel_context(request, release, RunProbesForm())
    template = "probes/release_probes.html"
    if request.htmx:
        template += "#panel"
    return render(request, template, context)


@require_POST
@login_required
def run_create(request, pk):
    release = get_release_for_user(request.user, pk)
    if not can_run_probes(request.user, release):
        raise PermissionDenied("You may not run probes on this release.")
    form = RunProbesForm(request.POST, request.FILES)
    if getattr(request, "oversized_uploads", None):  # dropped while streaming in: say so, not "choose one"
        form.is_valid()
        form.add_error(None, f"{', '.join(request.oversized_uploads)}: larger than the allowed size. "
                             f"Nothing was stored.")
    elif form.is_valid():
        data = form.cleaned_data
        try:
            run = services.run_create(release=release, cluster=data.get("cluster"), bundle=data.get("bundle_files"),
                                      bundle_name=data.get("bundle_name", ""), by=request.user)
        except services.ProbeRunError as exc:
            form.add_error(None, str(exc))
        else:
            if run.enqueued.waiting_for_queue:
                messages.warning(request, f"Probe run {run.pk} on {run.source_label}: {jobs.QUEUE_DOWN}.")
            else:
                messages.success(request, f"Probe run {run.pk} queued on {run.source_label}. Its progress shows below.")
            if request.POST.get("back") == "probes":
                return redirect("probes:release-probes", pk=release.pk)
            return redirect(reverse("release-detail", args=[release.pk]) + "#probes")
    problems = [str(error) for errors in form.errors.values() for error in errors]
    messages.error(request, "The probe run was not started: " + " ".join(problems))
    return render(request, "probes/release_probes.html", _panel_context(request, release, form), status=400)


@require_POST
@login_required
def item_rerun(request, release_pk, pk):
    """Decide an automated item again: judge its latest file (artifact check) or repeat the release's
    last probe run (Kubernetes probe). 404 when the item is not visible, 403 when it may not be changed."""
    item = get_item_for_user(request.user, release_pk, pk, for_change=True)
    kind = deciders.kind_of(item.probe_id)
    try:
        if kind == deciders.ARTIFACT:
            run = services.artifact_rejudge(item=item, by=request.user)
            text = f"{run.source_label} queued to be judged again by {item.probe_id} (run {run.pk})."
        elif kind == deciders.PROBE:
            if not can_run_probes(request.user, item.release):
                raise PermissionDenied("You may not run probes on this release.")
            run = services.run_repeat(release=item.release, by=request.user)
            text = f"Probe run {run.pk} queued on {run.source_label}."
        elif kind == deciders.COLLECTOR:
            if not can_collect(request.user, item.release):
                raise PermissionDenied("You may not start a collection on this release.")
            run = services.collection_run_create(release=item.release, by=request.user)
            text = f"Collection run {run.pk} queued on {run.source_label}."
        else:
            raise services.ProbeRunError("This item is not decided by a probe, an artifact check or a collector.")
    except services.ProbeRunError as exc:
        messages.error(request, f"Not started: {exc}")
    else:
        _queued_message(request, run, text)
    return redirect(reverse("item-detail", args=[item.release_id, item.pk]) + "#item-probe")


@require_POST
@login_required
def item_params(request, release_pk, pk):
    """Set the params the item's check judges by (the release manager's): 404 when the item is not
    visible, 403 for anyone else, the error named when the params are not valid."""
    item = get_item_for_user(request.user, release_pk, pk)
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:  # the optimistic lock is not optional: without the version read, nothing is saved
        messages.error(request, "Params not saved: the form did not say which version of the item it showed. "
                                "Reload the page and try again.")
        return redirect(reverse("item-detail", args=[item.release_id, item.pk]) + "#check-params")
    try:
        note = services.item_set_params(item=item, text=request.POST.get("params", ""), by=request.user,
                                        expected_version=version)
    except services.ProbeRunError as exc:
        messages.error(request, f"Params not saved: {exc}")
    except ItemConflict as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, note)
    return redirect(reverse("item-detail", args=[item.release_id, item.pk]) + "#check-params")


@require_GET
@login_required
def run_detail(request, pk, run_pk):
    run = get_probe_run_for_user(request.user, pk, run_pk)
    template = "probes/run_detail.html"
    if request.htmx:
        template += "#run"
    page = Paginator(selectors.results_by_probe(run), RUN_PROBES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, template, {"run": run, "release": run.release, "groups": page.object_list, "page": page})


def _panel_context(request, release, form) -> dict:
    runs = list(release.probe_runs.select_related("cluster", "requested_by")[:10])
    latest = runs[0] if runs else None
    return {
        "release": release, "runs": runs, "latest": latest, "form": form,
        # The release page loads this panel on every visit: a few findings per probe, the rest on the run's page.
        "groups": selectors.results_by_probe(latest, findings_per_probe=PANEL_FINDINGS) if latest else [],
        "run_link": reverse("probes:run-detail", args=[release.pk, latest.pk]) if latest else "",
        "can_run": can_run_probes(request.user, release),
        "has_clusters": Cluster.objects.exists(),
        "can_collect": can_collect(request.user, release),
        "collect_endpoints": sorted({e.name for e in endpoints.endpoints_for(release.environment).values()}),
        "collector_items": sum(map(len, collection.collector_bindings(release).values())),
        # Where "Run probes" returns: the page the form is on (the release page embeds this panel).
        "back": "release" if request.htmx else "probes",
    }
