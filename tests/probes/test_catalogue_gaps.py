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
