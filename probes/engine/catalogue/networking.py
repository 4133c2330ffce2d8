"""Ingress, TLS and NetworkPolicies."""
from dataclasses import dataclass, field

from probes.engine.outcome import Finding, Outcome, fail, judge, probe
from probes.engine.catalogue.common import where, workloads_matching, describe
from probes.engine.objects import annotations, dig, is_true, name, namespace
from probes.engine.podspecs import DAEMONSET, DEPLOYMENT, POD, WORKLOADS
from probes.engine.podspecs import namespaces_with_pods
from probes.engine.scope import AppScope, in_scope
from probes.engine.snapshot import Snapshot

INGRESS = "networking.k8s.io/v1/Ingress"
INGRESSCLASS = "networking.k8s.io/v1/IngressClass"
NETWORKPOLICY = "networking.k8s.io/v1/NetworkPolicy"
SERVICE = "v1/Service"
NAMESPACE = "v1/Namespace"

CONTROLLER_IMAGES = r"ingress-nginx|nginx-ingress|traefik|haproxy-ingress|kubernetes-ingress-controller|kong|contour|envoy-gateway|istio/proxyv2|ingressgateway|application-gateway-kubernetes-ingress|aws-load-balancer-controller|oci-native-ingress"


@dataclass(frozen=True)
class ControllerParams:
    controller_pattern: str = CONTROLLER_IMAGES  # regex over workload names and images


@probe(
    "networking.ingress-controller",
    "An ingress controller is installed",
    kinds=[INGRESSCLASS, DEPLOYMENT, DAEMONSET, INGRESS],
    params=ControllerParams,
    items=["networking.ingress-controller-is-installed-and-configured"],
)
def ingress_controller(snap: Snapshot, p: ControllerParams) -> Outcome:
    """An IngressClass exists and a known controller runs; every Ingress names a class that exists."""
    classes = {name(c) for c in snap.of(INGRESSCLASS)}
    controllers = [describe(k, o) for k, o in workloads_matching(snap, p.controller_pattern, kinds=(DEPLOYMENT, DAEMONSET))]
    observed = {"ingress_classes": sorted(classes), "controllers": controllers}
    if not classes and not controllers:
        return fail(f"no ingress controller {where(snap)} (no IngressClass, no known controller workload)", **observed)
    findings = []
    for ingress in snap.of(INGRESS):
        wanted = dig(ingress, "spec.ingressClassName") or annotations(ingress).get("kubernetes.io/ingress.class")
        if classes and wanted and wanted not in classes:
            findings.append(
                Finding(f"{namespace(ingress)}/Ingress/{name(ingress)}", "spec.ingressClassName", f"IngressClass {wanted!r} does not exist; use one of {', '.join(sorted(classes))}")
            )
    if findings:
        return fail("an Ingress names a class no controller serves", findings, **observed)
    return Outcome("pass", f"ingress controller present ({', '.join(sorted(classes) or controllers)})", observed=observed)


@probe(
    "networking.ingress-tls",
    "Ingresses serve TLS for every host",
    kinds=[INGRESS, NAMESPACE],
    params=AppScope,
    items=["networking.tls-certificates-are-configured-lets-encrypt-or-cloud"],
)
def ingress_tls(snap: Snapshot, p: AppScope) -> Outcome:
    """Every Ingress in application namespaces has spec.tls entries, with a certificate secret,
    covering each host its rules serve."""
    ingresses = in_scope(snap, p, INGRESS)
    findings = [f for ingress in ingresses for f in _tls_findings(ingress)]
    return judge(findings, len(ingresses), "ingresses")


def _tls_findings(ingress: dict) -> list[Finding]:
    object_ref = f"{namespace(ingress)}/Ingress/{name(ingress)}"
    tls = dig(ingress, "spec.tls", []) or []
    if not tls:
        return [Finding(object_ref, "spec.tls", "ingress serves plain HTTP; add spec.tls with the hosts and a certificate secretName (e.g. from cert-manager)")]
    findings = []
    covered = {host for entry in tls for host in entry.get("hosts") or []}
    for i, entry in enumerate(tls):
        if not entry.get("secretName"):
            findings.append(Finding(object_ref, f"spec.tls[{i}].secretName", "TLS entry has no certificate secret; set secretName"))
    for rule in dig(ingress, "spec.rules", []) or []:
        host = rule.get("host")
        if host and not any(_host_covered(host, c) for c in covered):
            findings.append(Finding(object_ref, f"spec.rules[{host}].host", f"host {host} has no TLS; add it to spec.tls[].hosts"))
    return findings


def _host_covered(host: str, pattern: str) -> bool:
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and host.count(".") == pattern.count(".")
    return host == pattern


@dataclass(frozen=True)
class HttpsParams(AppScope):
    tls_ports: list[int] = field(default_factory=lambda: [443, 8443])


@probe(
    "networking.https-only",
    "External traffic is HTTPS only",
    kinds=[INGRESS, SERVICE, NAMESPACE],
    params=HttpsParams,
    items=["network-security.tls-https-is-enforced-for-all-external-traffic"],
)
def https_only(snap: Snapshot, p: HttpsParams) -> Outcome:
    """Every Ingress serves TLS for all its hosts without turning off the HTTPS redirect, and no
    LoadBalancer or NodePort Service in application namespaces exposes a port other than `tls_ports`."""
    findings, judged = [], 0
    for ingress in in_scope(snap, p, INGRESS):
        judged += 1
        findings += _tls_findings(ingress)
        for key, value in annotations(ingress).items():
            if key.endswith("/ssl-redirect") and not is_true(value):
                findings.append(Finding(f"{namespace(ingress)}/Ingress/{name(ingress)}", f"metadata.annotations.{key}", "HTTPS redirect is turned off; remove the annotation or set it to \"true\""))
    for service in in_scope(snap, p, SERVICE):
        if dig(service, "spec.type") not in ("LoadBalancer", "NodePort"):
            continue
        judged += 1
        for port in dig(service, "spec.ports", []) or []:
            if port.get("port") not in p.tls_ports:
                findings.append(
                    Finding(
                        f"{namespace(service)}/Service/{name(service)}",
                        f"spec.ports[{port.get('name') or port.get('port')}].port",
                        f"{service['spec']['type']} Service exposes port {port.get('port')} outside the cluster; expose only TLS ports ({', '.join(map(str, p.tls_ports))}) or route through a TLS Ingress",
                    )
                )
    return judge(findings, judged, "externally exposed objects")


@probe(
    "networking.default-deny",
    "Each application namespace has a default-deny NetworkPolicy",
    kinds=[NETWORKPOLICY, NAMESPACE, *WORKLOADS, POD],
    params=AppScope,
    items=[
        "networking.network-policies-restrict-pod-to-pod-communication",
        "network-security.network-policies-restrict-pod-to-pod-communication",
    ],
)
def default_deny(snap: Snapshot, p: AppScope) -> Outcome:
    """Every application namespace that runs pods holds a NetworkPolicy with an empty podSelector and policy type
    Ingress and no ingress rules, so pods accept only traffic another policy allows."""
    namespaces = namespaces_with_pods(snap, p)
    denying = {namespace(np) for np in snap.of(NETWORKPOLICY) if _denies_ingress(np)}
    findings = [
        Finding(
            f"Namespace/{ns}",
            "NetworkPolicy.spec.podSelector",
            f"namespace {ns} has no default-deny policy; add a NetworkPolicy with podSelector: {{}}, policyTypes: [Ingress] and no ingress rules",
        )
        for ns in namespaces
        if ns not in denying
    ]
    return judge(findings, len(namespaces), "application namespaces")


def _denies_ingress(policy: dict) -> bool:
    spec = policy.get("spec") or {}
    selects_all = not (spec.get("podSelector") or {}).get("matchLabels") and not (spec.get("podSelector") or {}).get("matchExpressions")
    types = spec.get("policyTypes") or ["Ingress"]  # the API's default when left out
    return selects_all and "Ingress" in types and not spec.get("ingress")
