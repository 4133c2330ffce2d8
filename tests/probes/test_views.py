"""Probe and cluster pages: who may do what, and that a kubeconfig never comes back."""
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from checklists.models import Role
from probes import bundles, services
from tests.factories import member
from probes.models import Cluster, ProbeRun

BUNDLES = Path(__file__).parent / "bundles"
TOKEN = "s3cret-token-value"

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_for(client):
    def login(user):
        if user is not None:
            client.force_login(user)
        return client
    return login


@pytest.fixture
def cluster(k8s_server):
    k8s_server.token = TOKEN
    return services.cluster_create(name="prod-eu", kubeconfig=k8s_server.kubeconfig())


def upload(name="good"):
    data = (BUNDLES / name / "app.yaml").read_bytes()
    return SimpleUploadedFile("app.yaml", data, content_type="application/yaml")


def test_wrong_method_and_anonymous(client, release):
    url = reverse("probes:release-probes", args=[release.pk])
    assert client.get(url).status_code == 302  # to the login page
    assert client.post(reverse("probes:run-create", args=[release.pk])).status_code == 302
    assert client.get(reverse("probes:cluster-list")).status_code == 302


@pytest.mark.parametrize("who, panel, run", [
    ("nobody", 404, 404),  # sees nothing: the release does not exist for them
    ("delivery_engineer", 200, 403),  # sees the release (the team owns items), owns no probe-bound item
    ("auditor", 200, 403),  # reads everything, changes nothing
    ("approver", 200, 403),
    ("other_manager", 200, 403),  # manages other releases only
    ("engineer", 200, 302),  # platform team owns probe-bound items
    ("manager", 200, 302),
    ("admin", 200, 302),
])
def test_run_probes_permissions(client_for, people, seed_teams, release, who, panel, run):
    people["delivery_engineer"] = member("dana", seed_teams["delivery"], Role.ENGINEER)
    client = client_for(people[who])
    assert client.get(reverse("probes:release-probes", args=[release.pk])).status_code == panel
    response = client.post(reverse("probes:run-create", args=[release.pk]), {"bundle": upload()})
    assert response.status_code == run
    assert ProbeRun.objects.count() == (1 if run == 302 else 0)


def test_run_from_uploaded_bundle_is_queued_on_commit(client_for, people, release, django_capture_on_commit_callbacks):
    client = client_for(people["engineer"])
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("probes:run-create", args=[release.pk]), {"bundle": upload()}, follow=True)
    run = ProbeRun.objects.get()
    assert run.state == "queued" and run.bundle_name == "app.yaml" and run.requested_by == people["engineer"]
    assert len(callbacks) == 1
    assert f"Probe run {run.pk} queued" in response.content.decode()
    # While it is queued the panel polls itself.
    panel = client.get(reverse("probes:release-probes", args=[release.pk]), headers={"HX-Request": "true"})
    html = panel.content.decode()
    assert 'hx-trigger="every 2s"' in html and "<html" not in html

    services.run_execute(run_id=run.pk)
    html = client.get(reverse("probes:release-probes", args=[release.pk])).content.decode()
    assert "every 2s" not in html and "workloads.replicas" in html
    html = client.get(reverse("probes:run-detail", args=[release.pk, run.pk])).content.decode()
    assert "shop/Deployment/web" not in html or "Findings" in html
    assert "dapr.control-plane" in html


def test_a_bundle_that_is_not_an_archive_or_yaml_is_refused_on_the_form(client_for, people, release):
    client = client_for(people["manager"])
    escaping = SimpleUploadedFile("x.sh", b"rm -rf /")
    response = client.post(reverse("probes:run-create", args=[release.pk]), {"bundle": escaping})
    assert response.status_code == 400 and "x.sh: upload .yaml or .yml files" in response.content.decode()
    assert ProbeRun.objects.count() == 0


@pytest.mark.parametrize("text, says", [
    ("kind: [unclosed\n", "app.yaml: document 1 line 2: not valid YAML"),
    ("apiVersion: v1\nkind: ConfigMap\nmetadata: [1, 2]\n", "app.yaml: document 1 line 1: ConfigMap metadata must be a mapping"),
    ("apiVersion: v1\nkind: List\nitems: &a [*a]\n", "app.yaml: document 1 line 3: the alias *a refers to the node that contains it"),
    ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: " + "[" * 5000 + "]" * 5000 + "\n",
     "app.yaml: document 1 line 4: nested more than 64 levels deep"),
    ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: &a0 [x, x, x, x, x, x, x, x, x]\n"
     + "".join(f"  l{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]\n" for n in range(1, 7)),
     "app.yaml: document 1 line 8: aliases expand to more than 10,000 nodes"),
])
def test_a_bad_manifest_is_queued_at_once_and_its_run_ends_in_error_naming_member_and_line(
        client_for, people, release, text, says):
    client = client_for(people["manager"])
    response = client.post(reverse("probes:run-create", args=[release.pk]),
                           {"bundle": SimpleUploadedFile("app.yaml", text.encode())})
    assert response.status_code == 302  # parsed by the worker, not in the request
    run = ProbeRun.objects.get()
    services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.state == "error" and run.message.startswith(says)
    assert not run.results.exists()
    html = client.get(reverse("probes:run-detail", args=[release.pk, run.pk])).content.decode()
    assert "app.yaml: document 1 line" in html


@pytest.mark.parametrize("entries, says", [
    ({"a.yaml": b"a: 1\n", "a.yaml/b.yaml": b"a: 1\n"}, "a.yaml/b.yaml: a.yaml is a file in the bundle"),
    ({"x" * 300 + ".yaml": b"a: 1\n"}, "longer than 255 bytes"),
    ({"d/" * 2100 + "a.yaml": b"a: 1\n"}, "nested more than 32 folders deep"),
])
def test_archive_members_that_crashed_the_writer_are_a_400_naming_the_member(client_for, people, release, entries, says):
    from tests.probes.test_bundles import tar_of

    archive = tar_of(entries)
    response = client_for(people["manager"]).post(reverse("probes:run-create", args=[release.pk]), {
        "bundle": SimpleUploadedFile("chart.tar.gz", archive.getvalue())})
    assert response.status_code == 400 and says in response.content.decode()
    assert ProbeRun.objects.count() == 0


def test_a_huge_member_is_refused_without_decompressing_it(client_for, people, release):
    from tests.probes.test_bundles import huge_member_targz

    started = time.monotonic()
    response = client_for(people["manager"]).post(reverse("probes:run-create", args=[release.pk]), {
        "bundle": SimpleUploadedFile("chart.tar.gz", huge_member_targz().getvalue())})
    assert time.monotonic() - started < 5
    assert response.status_code == 400 and "chart/image.bin (20.0 GiB) takes the archive over" in response.content.decode()


def deployments_yaml(count: int) -> bytes:
    one = ("---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-{n}\n  namespace: shop\n"
           "  labels: {{app: web-{n}, team: shop}}\nspec:\n  replicas: 1\n  selector: {{matchLabels: {{app: web-{n}}}}}\n"
           "  template:\n    metadata: {{labels: {{app: web-{n}}}}}\n    spec:\n      containers:\n"
           "      - name: web\n        image: registry.example.com/shop/web:latest\n"
           "        env: [{{name: MODE, value: production}}, {{name: LOG_LEVEL, value: info}}]\n"
           "        ports: [{{containerPort: 8080, name: http}}]\n"
           "        resources: {{requests: {{cpu: 100m, memory: 128Mi}}}}\n")
    return "".join(one.format(n=n) for n in range(count)).encode()


def test_a_10_mb_bundle_is_queued_at_once(client_for, people, release):
    data = deployments_yaml(25_000)
    assert len(data) > 10_000_000
    started = time.monotonic()
    response = client_for(people["manager"]).post(reverse("probes:run-create", args=[release.pk]), {
        "bundle": SimpleUploadedFile("big.yaml", data)})
    elapsed = time.monotonic() - started
    assert response.status_code == 302 and ProbeRun.objects.get().state == "queued"
    print(f"10 MB bundle of 25,000 Deployments queued in {elapsed:.2f} s")
    assert elapsed < 10  # parsing it in the request took minutes


def test_bad_yaml_is_named_at_the_top_with_the_users_file_name_and_line(client_for, people, release):
    """The request only checks the upload's listing; the worker parses it, and the run's page says at
    the top which of the user's own files and lines is broken, never the server's folder."""
    client = client_for(people["manager"])
    bad = SimpleUploadedFile("bad.yaml", b"apiVersion: v1\nkind: ConfigMap\n---\nkind: [unclosed\n")
    assert client.post(reverse("probes:run-create", args=[release.pk]), {"bundle": bad}).status_code == 302
    run = ProbeRun.objects.get(release=release)
    services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert "bad.yaml: document 2" in run.message and "line" in run.message
    html = client.get(reverse("probes:run-detail", args=[release.pk, run.pk])).content.decode()
    main = html[html.index("<main"):]
    assert main.index("bad.yaml: document 2") < main.index("</h1>") + 2000
    assert "readiness-check" not in html and "/tmp" not in html


def test_an_oversized_bundle_is_named_on_the_form(client_for, people, release, settings):
    settings.READINESS_MAX_UPLOAD_BYTES = 100 * 1024
    client = client_for(people["manager"])
    big = SimpleUploadedFile("huge.yaml", b"# padding\n" * 20_000)
    response = client.post(reverse("probes:run-create", args=[release.pk]), {"bundle": big})
    assert response.status_code == 400
    assert "huge.yaml: larger than the allowed size" in response.content.decode()
    assert ProbeRun.objects.count() == 0


def test_findings_are_shown_per_probe_and_on_the_item(client_for, people, release):
    run = services.run_create(release=release, bundle=bundles.read_paths([BUNDLES / "bad"]), queue=False)
    services.run_execute(run_id=run.pk)
    client = client_for(people["auditor"])
    html = client.get(reverse("probes:run-detail", args=[release.pk, run.pk])).content.decode()
    assert "shop/Deployment/web" in html and "images.pinned-tags" in html

    from django.template.loader import render_to_string

    item = release.items.get(probe_id="images.pinned-tags")
    html = render_to_string("probes/_item_probe.html", {"item": item})
    assert "fail" in html and "shop/Deployment/web" in html and f"run {run.pk}" in html
    panel = render_to_string("probes/_release_panel.html", {"release": release})
    assert 'hx-trigger="load"' in panel and f'href="/releases/{release.pk}/probes/"' in panel


@pytest.mark.parametrize("who, status", [("nobody", 404), ("auditor", 200), ("engineer", 200), ("admin", 200)])
def test_cluster_list_visibility(client_for, people, cluster, who, status):
    response = client_for(people[who]).get(reverse("probes:cluster-list"))
    assert response.status_code == status
    if status == 200:
        assert "prod-eu" in response.content.decode() and TOKEN not in response.content.decode()


@pytest.mark.parametrize("who, status", [("nobody", 404), ("auditor", 403), ("manager", 403), ("engineer", 403)])
def test_only_admins_add_and_test_clusters(client_for, people, cluster, who, status):
    client = client_for(people[who])
    assert client.get(reverse("probes:cluster-create")).status_code == status
    assert client.post(reverse("probes:cluster-create"), {"name": "x", "auth": "in_cluster"}).status_code == status
    assert client.post(reverse("probes:cluster-test", args=[cluster.pk])).status_code == status
    assert Cluster.objects.count() == 1


def test_admin_adds_and_tests_a_cluster_and_never_sees_the_kubeconfig(client_for, people, k8s_server):
    client = client_for(people["admin"])
    kubeconfig = k8s_server.kubeconfig(TOKEN)
    response = client.post(reverse("probes:cluster-create"),
                           {"name": "staging", "auth": "kubeconfig", "kubeconfig_text": kubeconfig}, follow=True)
    assert "Cluster staging added" in response.content.decode() and TOKEN not in response.content.decode()
    cluster = Cluster.objects.get(name="staging")
    assert TOKEN not in cluster.kubeconfig_encrypted and services.cluster_kubeconfig(cluster) == kubeconfig

    response = client.post(reverse("probes:cluster-test", args=[cluster.pk]), follow=True)
    assert "is reachable" in response.content.decode()
    page = client.get(reverse("probes:cluster-list")).content.decode()
    assert TOKEN not in page and "reachable" in page

    # A file upload works too; an invalid form re-renders without echoing the pasted secret.
    response = client.post(reverse("probes:cluster-create"), {
        "name": "staging", "auth": "kubeconfig", "kubeconfig_text": kubeconfig})
    assert response.status_code == 400 and "exists already" in response.content.decode()
    assert TOKEN not in response.content.decode()
    response = client.post(reverse("probes:cluster-create"), {
        "name": "from-file", "auth": "kubeconfig",
        "kubeconfig_file": SimpleUploadedFile("config", kubeconfig.encode())}, follow=True)
    assert Cluster.objects.filter(name="from-file").exists() and TOKEN not in response.content.decode()


@pytest.mark.parametrize("kubeconfig, says", [
    ("".join(f"a{n}: &a{n} [{', '.join([f'*a{n - 1}' if n else 'x'] * 9)}]\n" for n in range(8)),
     "The kubeconfig cannot be used (line 4): aliases expand to more than 1,000 nodes"),
    ("contexts: [{name: [1]}]\n", "needs a name"),
])
def test_a_hostile_kubeconfig_is_a_clear_400(client_for, people, kubeconfig, says):
    client = client_for(people["admin"])
    response = client.post(reverse("probes:cluster-create"),
                           {"name": "bomb", "auth": "kubeconfig", "kubeconfig_text": kubeconfig})
    assert response.status_code == 400 and says in response.content.decode()
    assert not Cluster.objects.exists()


def test_unreachable_cluster_test_says_so(client_for, people, k8s_server):
    cluster = services.cluster_create(name="gone", kubeconfig=k8s_server.kubeconfig())
    k8s_server.stop()
    response = client_for(people["admin"]).post(reverse("probes:cluster-test", args=[cluster.pk]), follow=True)
    assert "is unreachable" in response.content.decode()


def test_missing_encryption_key_is_a_clear_form_error(client_for, people, settings, k8s_server):
    settings.READINESS_SECRETS_KEYS = []
    response = client_for(people["admin"]).post(reverse("probes:cluster-create"), {
        "name": "nokey", "auth": "kubeconfig", "kubeconfig_text": k8s_server.kubeconfig(TOKEN)})
    html = response.content.decode()
    assert "READINESS_SECRETS_KEYS" in html and TOKEN not in html and not Cluster.objects.exists()


def test_in_cluster_account_needs_no_kubeconfig(client_for, people):
    client_for(people["admin"]).post(reverse("probes:cluster-create"), {"name": "self", "auth": "in_cluster"})
    assert Cluster.objects.get(name="self").auth == Cluster.Auth.IN_CLUSTER


def test_pages_have_no_inline_scripts_or_styles(client_for, people, release):
    html = client_for(people["manager"]).get(reverse("probes:release-probes", args=[release.pk])).content.decode()
    assert "<script>" not in html and "style=" not in html and "<style" not in html
    assert '<label for="id_bundle"' in html


def test_run_probes_returns_to_the_page_it_was_started_from(client_for, people, release):
    client = client_for(people["engineer"])
    response = client.post(reverse("probes:run-create", args=[release.pk]), {"bundle": upload()})
    assert response["Location"] == reverse("release-detail", args=[release.pk]) + "#probes"
    response = client.post(reverse("probes:run-create", args=[release.pk]), {"bundle": upload(), "back": "probes"})
    assert response["Location"] == reverse("probes:release-probes", args=[release.pk])
    # The panel embedded in the release page says so; the probes page links back to the release.
    embedded = client.get(reverse("probes:release-probes", args=[release.pk]), headers={"HX-Request": "true"})
    assert 'name="back" value="release"' in embedded.content.decode()
    page = client.get(reverse("probes:release-probes", args=[release.pk])).content.decode()
    assert reverse("release-detail", args=[release.pk]) in page


def test_the_cluster_list_names_no_run_of_a_release_the_viewer_may_not_see(client_for, people, seed_teams):
    """A run on a release nobody in the viewer's teams works on stays off their Clusters page."""
    from tests.factories import TeamFactory, seed_release

    hidden = seed_release(service="secret-service", manager=people["manager"])
    cluster = services.cluster_create(name="prod", kubeconfig=None, by=people["admin"])
    run = services.run_create(release=hidden, cluster=cluster, by=people["manager"], queue=False)
    outsider = member("mo", TeamFactory(slug="mobile"), Role.ENGINEER)
    page = client_for(outsider).get(reverse("probes:cluster-list")).content.decode()
    assert "prod" in page and f"run {run.pk}" not in page
    page = client_for(people["manager"]).get(reverse("probes:cluster-list")).content.decode()
    assert f"run {run.pk}" in page


def test_findings_are_capped_per_probe_and_per_run_and_the_rest_counted(client_for, people, release, settings):
    import hashlib

    from checklists.models import Evidence
    from probes.models import ProbeResult

    settings.READINESS_FINDINGS_PER_PROBE = 7
    settings.READINESS_FINDINGS_PER_RUN = 30
    data = deployments_yaml(40)  # every one unpinned, one replica, no probes, no limits: many findings each
    run = services.run_create(release=release, bundle=bundles.read_uploads([SimpleUploadedFile("many.yaml", data)]),
                              queue=False)
    services.run_execute(run_id=run.pk)
    results = list(ProbeResult.objects.filter(run=run))
    per_probe = {r.probe_id: r for r in results}
    assert max(len(r.findings) for r in results) == 7
    assert sum(len(r.findings) for r in per_probe.values()) <= 30
    pinned = per_probe["images.pinned-tags"]
    assert pinned.findings_total == 40 and pinned.findings_omitted == 40 - len(pinned.findings)
    # The evidence hash covers what was stored, and says how many were left out.
    evidence = Evidence.objects.filter(probe_result__probe_id="images.pinned-tags").first()
    assert evidence.sha256 == hashlib.sha256(services.result_json(evidence.probe_result).encode()).hexdigest()
    assert '"findings_total":40' in services.result_json(pinned)

    client = client_for(people["auditor"])
    panel = client.get(reverse("probes:release-probes", args=[release.pk])).content.decode()
    assert f"… and {40 - 5} more" in panel and f"/releases/{release.pk}/probes/runs/{run.pk}/" in panel
    page = client.get(reverse("probes:run-detail", args=[release.pk, run.pk])).content.decode()
    assert f"… and {pinned.findings_omitted} more" in page
    assert "Page 1 of" in page and 'rel="next"' in page
    second = client.get(reverse("probes:run-detail", args=[release.pk, run.pk]) + "?page=2")
    assert second.status_code == 200 and "Page 2 of" in second.content.decode()


def test_long_finding_fields_are_clipped():
    from probes.engine.outcome import Finding

    clipped = services._finding(Finding(object="x" * 2000, field="f", message="m"))
    assert len(clipped["object"]) == services.FIELD_MAX and clipped["object"].endswith("…")


def test_the_worker_caps_the_objects_of_a_bundle(client_for, people, release, settings):
    settings.READINESS_BUNDLE_MAX_OBJECTS = 10
    response = client_for(people["manager"]).post(reverse("probes:run-create", args=[release.pk]), {
        "bundle": SimpleUploadedFile("many.yaml", deployments_yaml(11))})
    assert response.status_code == 302
    run = ProbeRun.objects.get()
    services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.state == "error"
    assert run.message.startswith("many.yaml: document 11 line ") and "more than 10 objects" in run.message
