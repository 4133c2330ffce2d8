"""The live collector, through the real `kubernetes` client over HTTP against the loopback server."""
import math
import socket
import time

import orjson
import pytest
import yaml

from tests.probes.k8s_server import DEFAULT_TOKEN, KubeApiServer, kubeconfig_text, make_object
from probes import cluster_collector as live

NODE, NS, POD = "v1/Node", "v1/Namespace", "v1/Pod"
DEPLOY, HPA = "apps/v1/Deployment", "autoscaling/v2/HorizontalPodAutoscaler"
PROM, DAPR = "monitoring.coreos.com/v1/Prometheus", "dapr.io/v1alpha1/Component"
FAST = {"backoff": 0.01, "timeout": (1.0, 2.0)}  # keep retry tests quick


def _objects(kind_id: str, n: int, namespaces: int = 3) -> list[dict]:
    return [make_object(kind_id, f"o{i}", f"ns{i % namespaces}") for i in range(n)]


def _collect(server: KubeApiServer, kind_ids, **kwargs):
    stats = live.CollectStats()
    with live.kubeconfig_client(server.kubeconfig()) as api:
        snapshot = live.collect(api, kind_ids, source="cluster:test", stats=stats,
                                **{**FAST, **kwargs})
    return snapshot, stats


# --- pagination and shape ----------------------------------------------------------------------
def test_pages_through_every_object_with_one_call_per_page(k8s_server):
    k8s_server.objects = {NODE: _objects(NODE, 7), POD: _objects(POD, 23), DEPLOY: _objects(DEPLOY, 5)}
    snapshot, stats = _collect(k8s_server, [NODE, POD, DEPLOY], page_size=5)

    assert [o["metadata"]["name"] for o in snapshot.of(POD)] == [f"o{i}" for i in range(23)]
    assert len(snapshot.of(NODE)) == 7 and len(snapshot.of(DEPLOY)) == 5
    # ceil(n / limit) list calls per kind, cluster-wide even for namespaced kinds.
    assert k8s_server.calls("/api/v1/pods") == math.ceil(23 / 5) == stats.pages[POD]
    assert k8s_server.calls("/api/v1/nodes") == math.ceil(7 / 5)
    assert k8s_server.calls("/apis/apps/v1/deployments") == 1
    assert stats.calls == k8s_server.calls() == 1 + 5 + 2 + 1  # /version plus the list pages
    assert stats.objects == {NODE: 7, POD: 23, DEPLOY: 5}
    assert all(r.query.get("limit") == "5" for r in k8s_server.requests if r.path != "/version")


def test_snapshot_is_live_with_server_version_and_typed_items(k8s_server):
    k8s_server.objects = {DEPLOY: [make_object(DEPLOY, "web", "shop", spec={"replicas": 2})]}
    snapshot, _ = _collect(k8s_server, [DEPLOY])

    assert snapshot.live and snapshot.source == "cluster:test"
    assert snapshot.server_version["gitVersion"] == "v1.30.4"
    (web,) = snapshot.of(DEPLOY)
    # The server leaves kind/apiVersion off list items, as a real one does; the collector adds them
    # and keeps the API's camelCase JSON otherwise.
    assert web["kind"] == "Deployment" and web["apiVersion"] == "apps/v1"
    assert web["spec"] == {"replicas": 2} and web["metadata"]["namespace"] == "shop"


def test_calls_grow_with_kinds_not_objects(k8s_server):
    kinds = [NODE, NS, POD, DEPLOY, HPA]
    k8s_server.objects = {k: _objects(k, 10) for k in kinds}
    _, few = _collect(k8s_server, kinds)
    k8s_server.objects = {k: _objects(k, 400) for k in kinds}
    _, many = _collect(k8s_server, kinds)
    _, fewer_kinds = _collect(k8s_server, kinds[:2])

    assert few.calls == many.calls == 1 + len(kinds)
    assert fewer_kinds.calls == 1 + 2


def test_custom_resources_are_listed_and_a_missing_crd_is_not_a_crash(k8s_server):
    k8s_server.objects = {PROM: [make_object(PROM, "k8s", "monitoring")]}
    snapshot, _ = _collect(k8s_server, [PROM, DAPR])

    assert snapshot.of(PROM)[0]["kind"] == "Prometheus"
    assert snapshot.missing == {DAPR}
    assert not snapshot.has(DAPR) and snapshot.of(DAPR) == []
    assert k8s_server.calls("/apis/dapr.io/v1alpha1/components") == 1  # a 404 is not retried


def test_an_expired_continue_token_lists_the_kind_again(k8s_server):
    k8s_server.objects = {POD: _objects(POD, 12)}
    k8s_server.fault("/api/v1/pods", 410, on_continue=True)
    snapshot, _ = _collect(k8s_server, [POD], page_size=5)

    assert len(snapshot.of(POD)) == 12  # no duplicates from the abandoned first pass
    assert k8s_server.calls("/api/v1/pods") == 2 + 3


# --- retries -----------------------------------------------------------------------------------
def test_429_with_retry_after_is_retried_after_the_asked_delay(k8s_server):
    k8s_server.objects = {NODE: _objects(NODE, 3)}
    k8s_server.fault("/api/v1/nodes", 429, retry_after="1")
    started = time.monotonic()
    snapshot, stats = _collect(k8s_server, [NODE])

    assert len(snapshot.of(NODE)) == 3
    assert time.monotonic() - started >= 1.0  # Retry-After honoured, not the 10 ms backoff
    assert [r.status for r in k8s_server.requests if r.path == "/api/v1/nodes"] == [429, 200]
    assert stats.retries == 1


def test_503_and_a_dropped_connection_are_retried(k8s_server):
    k8s_server.objects = {DEPLOY: _objects(DEPLOY, 3)}
    k8s_server.fault("/apis/apps/v1/deployments", 503)
    k8s_server.fault("/apis/apps/v1/deployments", 0)  # the connection closes with no answer
    snapshot, stats = _collect(k8s_server, [DEPLOY])

    assert len(snapshot.of(DEPLOY)) == 3
    assert stats.retries == 2


def test_a_persistent_5xx_gives_up_after_the_bounded_retries(k8s_server):
    k8s_server.fault("/api/v1/nodes", 500, times=None)
    with pytest.raises(live.ClusterError) as caught:
        _collect(k8s_server, [NODE], retries=2)

    assert caught.value.transient  # the Celery task may try the run again later
    assert "500" in str(caught.value) and "nodes" in str(caught.value)
    assert k8s_server.calls("/api/v1/nodes") == 3  # the first attempt and two retries


def test_a_400_is_not_retried_and_not_transient(k8s_server):
    k8s_server.fault("/api/v1/nodes", 400, times=None)
    with pytest.raises(live.ClusterError) as caught:
        _collect(k8s_server, [NODE])

    assert not caught.value.transient
    assert k8s_server.calls("/api/v1/nodes") == 1


# --- refusals ----------------------------------------------------------------------------------
def test_403_names_the_refused_resource_and_is_not_retried(k8s_server):
    k8s_server.objects = {NODE: _objects(NODE, 2)}
    k8s_server.fault("/apis/apps/v1/deployments", 403, times=None)
    with pytest.raises(live.ClusterForbidden) as caught:
        _collect(k8s_server, [NODE, DEPLOY])

    message = str(caught.value)
    assert "deployments.apps" in message and "list permission" in message
    assert not caught.value.transient
    assert k8s_server.calls("/apis/apps/v1/deployments") == 1


def test_a_wrong_token_is_unauthorised_and_never_echoed(k8s_server):
    k8s_server.objects = {NODE: _objects(NODE, 2)}
    text = kubeconfig_text(k8s_server.url, "not-the-token-s3cr3t")
    with pytest.raises(live.ClusterForbidden) as caught:
        with live.kubeconfig_client(text) as api:
            live.collect(api, [NODE], **FAST)

    assert "401" in str(caught.value) and "credentials" in str(caught.value)
    assert "s3cr3t" not in str(caught.value) and k8s_server.url in str(caught.value)
    assert k8s_server.calls("/api/v1/nodes") == 1


def test_an_unreachable_server_fails_fast_naming_the_url():
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    with pytest.raises(live.ClusterUnreachable) as caught:
        with live.kubeconfig_client(kubeconfig_text(url, DEFAULT_TOKEN)) as api:
            live.collect(api, [NODE], timeout=(0.5, 0.5))

    assert time.monotonic() - started < 2
    assert url in str(caught.value) and "refused" in str(caught.value)
    assert caught.value.transient


def test_a_stalled_server_times_out_as_unreachable(k8s_server):
    k8s_server.fault("/api/v1/nodes", 200, delay=1.5)
    with pytest.raises(live.ClusterUnreachable) as caught:
        _collect(k8s_server, [NODE], timeout=(0.5, 0.3))

    assert "did not answer in time" in str(caught.value)


# --- kubeconfigs -------------------------------------------------------------------------------
@pytest.mark.parametrize("text, says", [
    ("clusters: [\n  - name: a\n token: abc", r"not valid YAML \(line \d+"),
    ("just a string", "not a kubeconfig"),
    (kubeconfig_text("http://x", "t").replace("current-context: test\n", ""), "no current-context"),
    (kubeconfig_text("http://x", "t").replace("server: http://x", "insecure-skip-tls-verify: true"),
     "has no server URL"),
    (kubeconfig_text("http://x", "t").replace("user: prober", "user: ghost"), "user 'ghost'"),
])
def test_a_broken_kubeconfig_says_what_is_wrong(text, says):
    with pytest.raises(live.KubeconfigError, match=says):
        with live.kubeconfig_client(text):
            pass


def test_a_chosen_context_must_exist(k8s_server):
    says = "Context 'prod' is not in the kubeconfig; contexts: test"
    with pytest.raises(live.KubeconfigError, match=says):
        with live.kubeconfig_client(k8s_server.kubeconfig(), context="prod"):
            pass


def test_a_chosen_context_is_used(k8s_server):
    k8s_server.objects = {NODE: _objects(NODE, 1)}
    config = yaml.safe_load(k8s_server.kubeconfig())
    config["contexts"].append({"name": "other", "context": {"cluster": "loopback", "user": "prober"}})
    config["current-context"] = "nowhere"
    with live.kubeconfig_client(yaml.safe_dump(config), context="other") as api:
        assert len(live.collect(api, [NODE]).of(NODE)) == 1


BOMB = "".join(f"a{n}: &a{n} [{', '.join([f'*a{n - 1}' if n else 'x'] * 9)}]\n" for n in range(8))


@pytest.mark.parametrize("text, says", [
    (BOMB + kubeconfig_text("http://x", "t"), r"cannot be used \(line 4\): aliases expand to more than 1,000 nodes"),
    ("contexts: " + "[" * 5000 + "]" * 5000 + "\n", r"cannot be used \(line 1\): nested more than 20 levels deep"),
    ("contexts: &c [*c]\n", "refers to the node that contains it"),
    ("contexts: [{name: [1]}]\n", "needs a name"),
    ("contexts: [{name: a, context: [1]}]\ncurrent-context: a\n", "must be a mapping"),
    ("contexts: [{name: a, context: {cluster: [1]}}]\ncurrent-context: a\n", "refers to cluster"),
    ("contexts: []\ncurrent-context: [a]\n", "current-context must be a string"),
    ("contexts: []\nclusters: {a: 1}\ncurrent-context: a\n", "is not in the kubeconfig"),
])
def test_an_alias_bomb_or_deep_kubeconfig_is_refused(text, says):
    with pytest.raises(live.KubeconfigError, match=says):
        live.parse_kubeconfig(text)


def test_yaml_errors_do_not_quote_the_kubeconfig():
    text = "users:\n- name: a\n  user: {token: s3cr3t-token\n"
    with pytest.raises(live.KubeconfigError) as caught:
        live.parse_kubeconfig(text)
    assert "s3cr3t" not in str(caught.value)


@pytest.mark.parametrize("user, says", [
    ({"exec": {"command": "sh", "apiVersion": "client.authentication.k8s.io/v1"}}, "exec plugin"),
    ({"tokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token"}, "'tokenFile' points"),
    ({"client-key": "/etc/key.pem", "client-certificate": "/etc/cert.pem"}, "points to a file"),
])
def test_kubeconfigs_that_run_commands_or_read_local_files_are_refused(user, says):
    config = yaml.safe_load(kubeconfig_text("https://k8s.example:6443", "t"))
    config["users"][0]["user"] = user
    with pytest.raises(live.KubeconfigError, match=says):
        live.parse_kubeconfig(yaml.safe_dump(config))


def test_inline_client_keys_do_not_outlive_the_client(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    config = yaml.safe_load(kubeconfig_text("https://k8s.example:6443", "t"))
    config["users"][0]["user"] = {"client-certificate-data": "Q0VSVA==", "client-key-data": "S0VZ"}
    with live.kubeconfig_client(yaml.safe_dump(config)) as api:
        key_file = api.configuration.key_file
        assert open(key_file, "rb").read() == b"KEY"
    assert list(tmp_path.iterdir()) == []


# --- entry points ------------------------------------------------------------------------------
def test_collect_cluster_uses_the_kubeconfig_and_closes_the_client(k8s_server):
    k8s_server.objects = {NODE: _objects(NODE, 4)}
    snapshot = live.collect_cluster([NODE, NODE], kubeconfig=k8s_server.kubeconfig(),
                                    source="cluster:prod", page_size=3)

    assert snapshot.source == "cluster:prod" and len(snapshot.of(NODE)) == 4
    assert k8s_server.calls("/api/v1/nodes") == 2  # a kind asked twice is listed once


def test_without_a_kubeconfig_outside_a_pod_the_service_account_is_missing(monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(live.KubeconfigError, match="No in-cluster service account"):
        live.collect_cluster([NODE], kubeconfig=None)


def test_a_client_built_elsewhere_with_urllib3_retries_still_fails_as_unreachable():
    from kubernetes import client as k8s

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    with k8s.ApiClient(k8s.Configuration(host=url)) as api:  # urllib3 retries left on
        with pytest.raises(live.ClusterUnreachable, match="refused"):
            live.collect(api, [NODE], timeout=0.5)


def test_an_unknown_kind_is_a_programming_error(k8s_server):
    with pytest.raises(ValueError, match="v1/Gadget"):
        _collect(k8s_server, ["v1/Gadget"])


def test_a_server_without_a_version_endpoint_is_not_taken_for_kubernetes(k8s_server):
    k8s_server.fault("/version", 404)
    with pytest.raises(live.ClusterError, match="404") as caught:
        _collect(k8s_server, [NODE])
    assert not caught.value.transient


@pytest.mark.parametrize("item, problem", [
    ("web", "items[1] must be a mapping, found a string"),
    ({"metadata": ["web"]}, "items[1].metadata must be a mapping, found a list"),
    (None, "items[1] is empty"),
])
def test_a_list_of_things_that_are_not_objects_fails_the_collection_naming_the_item(k8s_server, item, problem):
    """Only a server that is not Kubernetes answers so: said as the run's error, not raised out of
    the worker as a Python exception."""
    k8s_server.objects = {DAPR: [make_object(DAPR, "ok", "shop"), item]}
    with pytest.raises(live.ClusterError) as caught:
        _collect(k8s_server, [DAPR])
    assert str(caught.value) == f"{k8s_server.url} listed Component objects that are not Kubernetes objects: {problem}"
    assert not caught.value.transient


def test_a_version_that_is_not_an_object_is_not_taken_for_kubernetes(k8s_server):
    k8s_server.version = ["v1.30.4"]
    with pytest.raises(live.ClusterError, match="answered /version with no version"):
        _collect(k8s_server, [NODE])


def test_an_empty_stored_kubeconfig_does_not_fall_back_to_the_service_account():
    with pytest.raises(live.KubeconfigError, match="not a kubeconfig"):
        live.collect_cluster([NODE], kubeconfig="")


# --- reading a page's continue token before its items are decoded ------------------------------
LIST_BODIES = [
    b'{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7","continue":"eyJvIjo1fQ",'
    b'"remainingItemCount":18},"items":[{"metadata":{"name":"a"}}]}',
    b'{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7"},"items":[]}',
    b'{"metadata":{"continue":"x"}}',
    b'{"metadata":{}}',
    # What the head alone cannot tell: each gives None, and the page is decoded whole.
    b'{"apiVersion":"v1","items":[{"metadata":{"name":"a"}}],"kind":"PodList","metadata":{"continue":"x"}}',
    b'{"kind":"PodList","metadata":{"resourceVersion":"7","nested":{"continue":"no"}},"items":[]}',
    b'{"kind":"PodList","metadata": {"continue":"x"},"items":[]}',
    b'{"kind":"a\\"metadata\\":{\\"continue\\":\\"no\\"}","metadata":{"continue":"x"},"items":[]}',
    b'{"kind":"\\"metadata\\":{}","metadata":{"continue":"x"}}',
    b'{"kind":"PodList","metadata":{"continue":"}"},"items":[]}',
    b'["metadata":{"continue":"x"}]',
    b'{"kind":"PodList","metadata":{"continue":"x"}',
    b'<html>"metadata":{}</html>',
]


@pytest.mark.parametrize("body", LIST_BODIES)
def test_list_metadata_read_from_the_head_is_the_decoded_pages_or_none(body):
    try:
        decoded = orjson.loads(body)["metadata"]
    except (ValueError, TypeError):
        decoded = None
    read = live._list_metadata(body)
    assert read is None or read == decoded


def test_the_head_is_read_for_what_the_api_server_sends():
    assert live._list_metadata(LIST_BODIES[0]) == {"resourceVersion": "7", "continue": "eyJvIjo1fQ", "remainingItemCount": 18}
    assert live._list_metadata(LIST_BODIES[1]) == {"resourceVersion": "7"}
    assert live._list_metadata(LIST_BODIES[4]) is None  # metadata after the items: decoded whole


def test_a_page_broken_after_its_head_fails_as_not_json():
    broken = b'{"kind":"PodList","apiVersion":"v1","metadata":{"continue":"x"},"items":[{"a":'
    with live._Decoder("http://127.0.0.1:1") as decoder:
        metadata, items = decoder.page(broken, live.KINDS[POD])
        assert metadata == {"continue": "x"}
        with pytest.raises(live.ClusterError, match="not JSON"):
            items.result()
