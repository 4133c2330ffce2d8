"""Collection runs wired end to end: the observability endpoints serving a release's environment are
read in a background run, and the collector checks' verdicts decide the items through the entry point,
from "Collect now", an item's "Collect again", and the schedule."""
import contextlib
import socket
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from checklists.models import AuditEvent, Release, ReleaseItem
from checklists.services.items import ACTION_PROBE
from probes import services
from probes.endpoints import endpoint_create, endpoints_for
from probes.models import ObservabilityEndpoint, ProbeResult, ProbeRun
from tests.celery_workers import wait_for
from tests.probes.observability import recorded
from tests.probes.observability.obs_server import ObservabilityServer

pytestmark = pytest.mark.django_db
TOKEN = "obs-token-0123456789"
JSON_LOGS = "centralized-logging.structured-json-logging-is-enabled-in-all-services"  # collector.loki.json-logs


def unused_port() -> int:
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def observability(admin, environment="production", **overrides):
    """Loopback Prometheus, Alertmanager, Grafana, Loki and Jaeger answering recorded responses, each
    stored as an endpoint for `environment`."""
    routes = {"prometheus": recorded.PROMETHEUS, "alertmanager": recorded.ALERTMANAGER, "grafana": recorded.GRAFANA,
              "loki": recorded.loki(), "jaeger": recorded.jaeger()} | overrides
    with contextlib.ExitStack() as stack:
        servers = {}
        for kind, kind_routes in routes.items():
            server = stack.enter_context(ObservabilityServer(routes=kind_routes, token=TOKEN))
            endpoint_create(name=f"{kind}-{environment or 'all'}", kind=kind, url=server.url, token=TOKEN,
                            environment=environment, by=admin)
            servers[kind] = server
        yield servers


def collector_items(release):
    return release.items.filter(probe_id__startswith="collector.")


def execute(run: ProbeRun, **kwargs) -> ProbeRun:
    """What the worker does with the queued run (probes.tasks.run_probes)."""
    return services.run_execute(run_id=run.pk, **kwargs).run


def test_collect_now_decides_every_collector_bound_item_through_the_entry_point(client, people, release):
    with observability(people["admin"]) as servers:
        client.force_login(people["manager"])
        response = client.post(reverse("probes:collect-create", args=[release.pk]))
        assert response.status_code == 302
        run = ProbeRun.objects.get(release=release)
        assert run.state == ProbeRun.State.QUEUED and run.is_collection
        assert sorted(run.endpoints.values_list("kind", flat=True)) == ["alertmanager", "grafana", "jaeger", "loki", "prometheus"]

        run = execute(run)

        # One reading of each endpoint serves every check bound to it.
        assert [path for path, _q, _a in servers["prometheus"].requests].count("/api/v1/rules") == 1
    assert run.state == ProbeRun.State.DONE, run.message
    items = list(collector_items(release))
    assert len(items) >= 29
    results = ProbeResult.objects.filter(run=run)
    assert {r.item_key for r in results} == {i.key for i in items}
    assert all(r.status in ("pass", "fail") for r in results), [(r.item_key, r.summary) for r in results if r.status not in ("pass", "fail")]
    for item in items:
        assert item.decided_by_probe and item.status in (ReleaseItem.Status.DONE, ReleaseItem.Status.FAILED)
        assert item.probe_status == ("pass" if item.status == ReleaseItem.Status.DONE else "fail")
    assert release.items.get(key=JSON_LOGS).status == ReleaseItem.Status.DONE  # every recorded line is JSON
    events = AuditEvent.objects.filter(release=release, action=ACTION_PROBE)
    assert events.count() == len(items)  # every verdict through the one door, audited
    assert all(e.after.get("source") == "probe" and e.after["run"] == run.pk for e in events)
    # Where each verdict came from shows on the run, the panel and the item.
    detail = client.get(reverse("probes:run-detail", args=[release.pk, run.pk])).content.decode()
    assert "observability endpoints" in detail and "collector.loki.json-logs" in detail
    panel = client.get(reverse("probes:release-probes", args=[release.pk])).content.decode()
    assert "observability endpoints" in panel
    item = release.items.get(key=JSON_LOGS)
    page = client.get(reverse("item-detail", args=[release.pk, item.pk])).content.decode()
    assert "on observability endpoints" in page and "Collect again" in page


def test_a_failing_collector_fact_fails_its_item_with_findings(people, release):
    lines = {"api": [recorded.log_line()], "worker": ["worker started on port 9000"]}
    with observability(people["admin"], loki=recorded.loki(lines)):
        run = execute(services.collection_run_create(release=release, by=people["manager"]))
    item = release.items.get(key=JSON_LOGS)
    assert item.status == ReleaseItem.Status.FAILED and item.probe_status == "fail"
    result = ProbeResult.objects.get(run=run, item=item)
    assert [f["object"] for f in result.findings] == ["service/worker"]


def test_wrong_credentials_are_an_error_never_a_pass_and_change_nothing(people, release):
    server = ObservabilityServer(routes=recorded.PROMETHEUS, token="the-right-one").start()
    try:
        endpoint_create(name="prometheus", kind="prometheus", url=server.url, token="a-wrong-one", environment="production")
        run = execute(services.collection_run_create(release=release, by=people["manager"]), final_attempt=False)
    finally:
        server.stop()
    assert run.state == ProbeRun.State.DONE  # a 401 is not worth retrying
    prometheus_items = collector_items(release).filter(probe_id__startswith="collector.prometheus.")
    results = ProbeResult.objects.filter(run=run, item__in=prometheus_items)
    assert results and all(r.status == "error" and "401" in r.summary for r in results)
    assert set(prometheus_items.values_list("status", flat=True)) == {ReleaseItem.Status.OPEN}
    assert "a-wrong-one" not in str(list(results.values_list("summary", "observed")))
    # Checks with no endpoint for the environment are skipped, naming what is missing.
    loki = ProbeResult.objects.get(run=run, item_key=JSON_LOGS)
    assert loki.status == "skip" and "No loki endpoint serves the production environment" in loki.summary


def test_an_unreachable_endpoint_retries_the_run_then_ends_in_errors(people, release):
    endpoint_create(name="prometheus", kind="prometheus", url=f"http://127.0.0.1:{unused_port()}", environment="production")
    run = services.collection_run_create(release=release, by=people["manager"])

    with pytest.raises(services.RetryLater, match="no answer"):
        execute(run, final_attempt=False)
    run.refresh_from_db()
    assert run.state == ProbeRun.State.QUEUED and "Retrying" in run.message

    run = execute(run, final_attempt=True)
    assert run.state == ProbeRun.State.DONE
    statuses = set(ProbeResult.objects.filter(run=run, probe_id__startswith="collector.prometheus.").values_list("status", flat=True))
    assert statuses == {"error"}


def test_the_environment_picks_the_endpoint(people):
    everywhere = endpoint_create(name="prom-all", kind="prometheus", url="http://127.0.0.1:1", environment="")
    production = endpoint_create(name="prom-prod", kind="prometheus", url="http://127.0.0.1:2", environment="production")
    endpoint_create(name="tempo-all", kind="tempo", url="http://127.0.0.1:3")
    jaeger = endpoint_create(name="jaeger-staging", kind="jaeger", url="http://127.0.0.1:4", environment="staging")
    assert endpoints_for("production")["prometheus"] == production
    assert endpoints_for("staging")["prometheus"] == everywhere
    assert endpoints_for("staging")["tracing"] == jaeger  # Jaeger before Tempo
    assert endpoints_for("production")["tracing"].name == "tempo-all"


def test_no_endpoint_for_the_environment_starts_nothing(people, release):
    endpoint_create(name="prom-staging", kind="prometheus", url="http://127.0.0.1:1", environment="staging")
    with pytest.raises(services.ProbeRunError, match="No observability endpoint serves the production environment"):
        services.collection_run_create(release=release, by=people["manager"])
    assert not ProbeRun.objects.exists()


def test_collect_again_on_an_item_starts_a_collection(client, people, release):
    endpoint_create(name="prom", kind="prometheus", url="http://127.0.0.1:1")
    item = release.items.get(key=JSON_LOGS)
    client.force_login(people["manager"])
    page = client.get(reverse("item-detail", args=[release.pk, item.pk])).content.decode()
    assert "Collect again" in page and "Not collected yet" in page

    response = client.post(reverse("probes:item-rerun", args=[release.pk, item.pk]))

    assert response.status_code == 302
    run = ProbeRun.objects.get(release=release)
    assert run.is_collection and run.requested_by == people["manager"]


def test_who_may_collect(client, people, release):
    endpoint_create(name="prom", kind="prometheus", url="http://127.0.0.1:1")
    url = reverse("probes:collect-create", args=[release.pk])
    client.force_login(people["auditor"])
    assert client.post(url).status_code == 403
    client.force_login(people["nobody"])
    assert client.post(url).status_code == 404
    client.logout()
    assert client.post(url).status_code == 302  # to the login page
    assert not ProbeRun.objects.exists()


def test_the_panel_offers_collect_now_with_the_endpoints_it_reads(client, people, release):
    client.force_login(people["manager"])
    html = client.get(reverse("probes:release-probes", args=[release.pk])).content.decode()
    assert "No observability endpoint serves the production environment" in html
    endpoint_create(name="prom-prod", kind="prometheus", url="http://127.0.0.1:1", environment="production")
    html = client.get(reverse("probes:release-probes", args=[release.pk])).content.decode()
    assert "Collect now" in html and "prom-prod" in html


def test_the_schedule_collects_open_releases_once(people, release):
    endpoint_create(name="prom", kind="prometheus", url="http://127.0.0.1:1")
    old = Release.objects.filter(pk=release.pk)
    assert [run.release_id for run in services.releases_collect()] == [release.pk]
    assert services.releases_collect() == []  # one is still queued
    ProbeRun.objects.update(state=ProbeRun.State.DONE)
    old.update(state=Release.State.APPROVED, updated_at=timezone.now() - timedelta(days=90))
    assert services.releases_collect() == []  # approved long ago: no longer watched
    run = ProbeRun.objects.get()
    assert run.trigger == ProbeRun.Trigger.SCHEDULE


@pytest.mark.django_db(transaction=True)
def test_a_collection_run_through_the_worker(people, release, workers):
    workers.start()
    with observability(people["admin"]):
        run = services.collection_run_create(release=release, by=people["manager"])  # queued on commit
        wait_for(lambda: ProbeRun.objects.get(pk=run.pk).state == "done", what="the collection to finish")
    assert ProbeResult.objects.filter(run=run).count() == collector_items(release).count()
    assert collector_items(release).filter(decided_by_probe=True).count() == collector_items(release).count()


# --- the Observability page -----------------------------------------------------------------------
def test_admins_add_test_and_remove_endpoints_and_the_secret_is_never_shown(client, people):
    client.force_login(people["admin"])
    with ObservabilityServer(routes=recorded.PROMETHEUS, token=TOKEN) as server:
        response = client.post(reverse("probes:endpoint-create"), {
            "name": "prom-prod", "kind": "prometheus", "url": server.url, "environment": "production",
            "secret": TOKEN, "verify_tls": "on"})
        assert response.status_code == 302
        endpoint = ObservabilityEndpoint.objects.get(name="prom-prod")
        assert TOKEN not in endpoint.secret_encrypted
        client.post(reverse("probes:endpoint-check", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.last_status == ObservabilityEndpoint.Status.REACHABLE
    page = client.get(reverse("probes:endpoint-list")).content.decode()
    assert "prom-prod" in page and "bearer token" in page and TOKEN not in page
    assert AuditEvent.objects.filter(action="probes.endpoint.checked", after__status="reachable").exists()

    client.post(reverse("probes:endpoint-check", args=[endpoint.pk]))  # the server is gone now
    endpoint.refresh_from_db()
    assert endpoint.last_status == ObservabilityEndpoint.Status.UNREACHABLE

    assert client.post(reverse("probes:endpoint-delete", args=[endpoint.pk])).status_code == 302
    assert not ObservabilityEndpoint.objects.exists()
    assert AuditEvent.objects.filter(action="probes.endpoint.deleted").exists()


def test_a_wrong_token_shows_as_forbidden(client, people):
    with ObservabilityServer(routes=recorded.GRAFANA, token=TOKEN) as server:
        endpoint = endpoint_create(name="grafana", kind="grafana", url=server.url, token="wrong")
        client.force_login(people["admin"])
        client.post(reverse("probes:endpoint-check", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.last_status == ObservabilityEndpoint.Status.FORBIDDEN and "401" in endpoint.last_message


def test_a_bad_endpoint_form_names_the_field_and_stores_nothing(client, people):
    client.force_login(people["admin"])
    response = client.post(reverse("probes:endpoint-create"), {"name": "x", "kind": "prometheus", "url": "ftp://x",
                                                                "username": "reader"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter a valid URL" in html and "Basic auth needs the password" in html
    assert not ObservabilityEndpoint.objects.exists()


def test_only_admins_manage_endpoints(client, people):
    endpoint = endpoint_create(name="prom", kind="prometheus", url="http://127.0.0.1:1")
    client.force_login(people["engineer"])
    assert client.get(reverse("probes:endpoint-list")).status_code == 200
    assert client.get(reverse("probes:endpoint-create")).status_code == 403
    assert client.post(reverse("probes:endpoint-delete", args=[endpoint.pk])).status_code == 403
    assert client.post(reverse("probes:endpoint-check", args=[endpoint.pk])).status_code == 403
    client.force_login(people["nobody"])
    assert client.get(reverse("probes:endpoint-list")).status_code == 404
    assert ObservabilityEndpoint.objects.filter(last_status="").exists()
