"""Blind spots of the catalogue found by review: each a case that passed when it should have failed
(or failed an exemplary workload)."""
import pytest

from tests.probes.probe_builders import DELETE, deployment, hpa, obj, pdb, run, setp, snapshot
from tests.probes.catalogue_cases import app, with_container


@pytest.mark.parametrize("spec, replicas", [
    ({"minAvailable": "95%"}, 10),  # 9.5 rounds up to all 10
    ({"minAvailable": "51%"}, 2),
    ({"minAvailable": 3}, 3),
    ({"maxUnavailable": "0%"}, 4),
])
def test_budgets_that_round_up_to_every_replica_block_drains(spec, replicas):
    objects = [deployment(replicas=replicas), pdb(**spec), hpa(min_replicas=replicas)]
    outcome = run("workloads.disruption-budgets", snapshot(*objects))
    assert outcome.status == "fail" and outcome.findings[0].object == "shop/PodDisruptionBudget/api"


@pytest.mark.parametrize("spec, replicas", [({"minAvailable": "80%"}, 10), ({"maxUnavailable": "10%"}, 3), ({"minAvailable": 1}, 2)])
def test_budgets_that_leave_room_pass(spec, replicas):
    assert run("workloads.disruption-budgets", snapshot(deployment(replicas=replicas), pdb(**spec), hpa(min_replicas=replicas))).status == "pass"


def test_a_budget_setting_both_fields_fails():
    outcome = run("workloads.disruption-budgets", snapshot(deployment(), pdb(minAvailable=1, maxUnavailable=1), hpa()))
    assert outcome.status == "fail" and "both minAvailable and maxUnavailable" in outcome.findings[0].message


PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----\n"


@pytest.mark.parametrize("name, value, message", [
    ("TLS_KEY", PEM, "a PEM private key"),
    ("SIGNING", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----", "a PEM private key"),
    ("UPLOADS_ID", "AKIAIOSFODNN7EXAMPLE", "an AWS access key id"),
    ("BOT", "ghp_" + "a" * 36, "an API token"),
    ("AZURE_STORAGE_KEY", "c29tZSBrZXk=", "a literal secret"),
    ("SENTRY_DSN", "https://abc@o1.ingest.sentry.io/1", "a literal secret"),
    ("OCI_CLI_KEY_CONTENT", "MIIE...", "a literal secret"),
])
def test_credentials_in_env_values_are_found_whatever_they_are_called(name, value, message):
    outcome = run("security.no-inline-secrets", snapshot(*app(with_container(env=[{"name": name, "value": value}]))))
    assert outcome.status == "fail" and message in outcome.findings[0].message
    assert value not in outcome.findings[0].message  # never echo the secret


def test_a_pem_key_in_configmap_data_is_found():
    cm = obj("v1", "ConfigMap", "certs", data={"server.key": PEM, "server.crt": "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----"})
    outcome = run("security.no-inline-secrets", snapshot(*app(cm)))
    assert outcome.status == "fail" and [(f.object, f.field) for f in outcome.findings] == [("shop/ConfigMap/certs", "data.server.key")]


def test_a_certificate_alone_is_not_a_secret():
    cm = obj("v1", "ConfigMap", "ca", data={"ca.crt": "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----"})
    assert run("security.no-inline-secrets", snapshot(*app(cm))).status == "pass"


OWN_REGISTRY = "registry.acme.io/shop/api:1.4.2"


def test_an_image_from_our_own_registry_with_a_pull_secret_is_private_for_both_probes():
    objects = app(with_container(image=OWN_REGISTRY))
    assert run("images.private-registry", snapshot(*objects)).status == "pass"
    assert run("images.pull-secrets", snapshot(*objects)).status == "pass"


def test_our_own_registry_without_a_pull_secret_fails_both_for_the_same_reason():
    objects = [setp(with_container(image=OWN_REGISTRY), "spec.template.spec.imagePullSecrets", DELETE)]
    registry = run("images.private-registry", snapshot(*objects))
    secrets = run("images.pull-secrets", snapshot(*objects))
    assert registry.status == secrets.status == "fail"
    assert "neither a listed private registry nor pulled with a pull secret" in registry.findings[0].message


def test_a_public_image_is_not_made_private_by_a_pull_secret():
    outcome = run("images.private-registry", snapshot(*app(with_container(image="docker.io/library/nginx:1.27"))))
    assert outcome.status == "fail" and "public registry docker.io" in outcome.findings[0].message


def test_a_pull_secret_on_the_service_account_counts():
    workload = setp(setp(with_container(image=OWN_REGISTRY), "spec.template.spec.imagePullSecrets", DELETE), "spec.template.spec.serviceAccountName", "api")
    account = obj("v1", "ServiceAccount", "api", imagePullSecrets=[{"name": "acme-registry"}])
    assert run("images.private-registry", snapshot(workload, account)).status == "pass"


from tests.probes.catalogue_cases import hardened, ingress, statefulset  # noqa: E402
from tests.probes.probe_builders import namespace_obj, service  # noqa: E402


def _refs(*objects):
    return run("references.dangling", snapshot(namespace_obj(), deployment(), service(), *objects))


def test_an_ingress_naming_a_missing_service_fails():
    bad = ingress()
    bad["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] = "web"
    outcome = _refs(bad)
    assert outcome.status == "fail"
    assert ("shop/Ingress/web", "spec.rules[0].http.paths[0].backend.service.name") in {(f.object, f.field) for f in outcome.findings}


def test_an_hpa_scaling_nothing_fails():
    outcome = _refs(hpa("worker"))
    assert outcome.status == "fail" and outcome.findings[0].message == "scales Deployment/worker, which does not exist"


def test_a_network_policy_selecting_no_pods_fails_and_a_default_one_passes():
    stale = obj("networking.k8s.io/v1", "NetworkPolicy", "old", spec={"podSelector": {"matchLabels": {"app": "legacy"}}})
    default = obj("networking.k8s.io/v1", "NetworkPolicy", "deny", spec={"podSelector": {}})
    outcome = _refs(stale, default)
    assert outcome.status == "fail" and [f.object for f in outcome.findings] == ["shop/NetworkPolicy/old"]


def test_a_statefulset_needs_its_governing_service():
    assert _refs(statefulset(service_name="db"), service("db")).status == "pass"
    outcome = _refs(statefulset(service_name="db-headless"), service("db"))
    assert outcome.status == "fail" and outcome.findings[0].field == "spec.serviceName"


def test_host_paths_and_ports_fail_and_allowed_paths_pass():
    mounted = hardened(volumes=[{"name": "logs", "hostPath": {"path": "/var/log/pods"}}])
    assert run("security.host-access", snapshot(mounted)).status == "fail"
    assert run("security.host-access", snapshot(mounted), {"allowed_host_paths": ["/var/log"]}).status == "pass"
    ported = setp(hardened(), "spec.template.spec.containers.app.ports", [{"name": "http", "containerPort": 8080, "hostPort": 80}])
    outcome = run("security.host-access", snapshot(ported))
    assert outcome.status == "fail" and "binds host port 80" in outcome.findings[0].message


def test_an_unconfined_container_fails_even_under_a_pod_profile():
    made = setp(hardened(), "spec.template.spec.containers.app.securityContext.seccompProfile", {"type": "Unconfined"})
    outcome = run("security.seccomp", snapshot(made))
    assert outcome.status == "fail" and "runs Unconfined" in outcome.findings[0].message


def test_the_token_can_be_turned_off_on_the_service_account_or_the_pod_listed_as_an_api_client():
    workload = setp(setp(hardened(), "spec.template.spec.automountServiceAccountToken", DELETE), "spec.template.spec.serviceAccountName", "api")
    assert run("security.service-account-token", snapshot(workload)).status == "fail"
    account = obj("v1", "ServiceAccount", "api", automountServiceAccountToken=False)
    assert run("security.service-account-token", snapshot(workload, account)).status == "pass"
    assert run("security.service-account-token", snapshot(workload), {"api_clients": ["shop/api"]}).status == "skip"


def test_on_a_live_cluster_the_last_applied_configuration_shows_replicas_fighting_the_hpa():
    import json

    live = deployment()
    live["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": json.dumps({"spec": {"replicas": 2}})}
    assert run("scaling.replicas-vs-hpa", snapshot(namespace_obj(), live, hpa(), live=True)).status == "fail"
    helm = deployment()  # applied by Helm or a GitOps controller: nothing shows the manifest
    assert run("scaling.replicas-vs-hpa", snapshot(namespace_obj(), helm, hpa(), live=True)).status == "skip"


def test_a_service_selecting_no_pods_fails():
    outcome = _refs(service("gone"))
    assert outcome.status == "fail" and [(f.object, f.field) for f in outcome.findings] == [("shop/Service/gone", "spec.selector")]


from tests.probes.catalogue_cases import pvc, velero_schedule  # noqa: E402


def test_a_paused_schedule_or_one_without_volume_data_backs_nothing_up():
    paused = velero_schedule()
    paused["spec"]["paused"] = True
    assert run("backups.schedules", snapshot(pvc("data", "premium-rwo"), paused)).status == "fail"
    no_volumes = velero_schedule(snapshotVolumes=False)
    assert run("backups.schedules", snapshot(pvc("data", "premium-rwo"), no_volumes)).status == "fail"
    fs_backup = velero_schedule(snapshotVolumes=False, defaultVolumesToFsBackup=True)
    assert run("backups.schedules", snapshot(pvc("data", "premium-rwo"), fs_backup)).status == "pass"


def test_without_velero_volumes_are_not_backed_up_and_without_volumes_there_is_nothing_to_judge():
    outcome = run("backups.schedules", snapshot(pvc("data", "premium-rwo")))
    assert outcome.status == "fail" and outcome.summary == "no Velero Schedule in the bundle"
    assert [f.object for f in outcome.findings] == ["Namespace/shop"]
    assert run("backups.schedules", snapshot(velero_schedule())).status == "skip"


def test_a_schedule_without_ttl_has_no_defined_retention():
    outcome = run("backups.retention", snapshot(velero_schedule(ttl=None)))
    assert outcome.status == "fail" and "no ttl" in outcome.findings[0].message
    assert run("backups.retention", snapshot(velero_schedule(ttl="1000h30m0s"))).status == "pass"
