"""Container images: pinned versions, private registries and the pull secrets they need."""
from dataclasses import dataclass, field

from probes.base import Finding, Outcome, judge, probe
from probes.imagerefs import in_registries, parse_image
from probes.objects import name, namespace
from probes.podspecs import CONTAINER_KINDS, containers, pod_specs, workload_specs
from probes.scope import AppScope
from probes.snapshot import Snapshot

SERVICEACCOUNT = "v1/ServiceAccount"

PUBLIC_REGISTRIES = [
    "docker.io/library",
    "registry.k8s.io",
    "quay.io",
    "mcr.microsoft.com",
    "public.ecr.aws",
    "gcr.io/distroless",
    "cgr.dev/chainguard",
]
PRIVATE_REGISTRIES = [
    "*.azurecr.io/*",
    "*.ocir.io/*",
    "ocir.*.oci.oraclecloud.com/*",
    "*-docker.pkg.dev/*",
    "*.dkr.ecr.*.amazonaws.com/*",
]


@dataclass(frozen=True)
class PinnedParams(AppScope):
    require_semver: bool = True  # False accepts any tag but "latest"


@probe(
    "images.pinned-tags",
    "Images are pinned to a version",
    kinds=CONTAINER_KINDS,
    params=PinnedParams,
    items=["container-images.images-are-tagged-with-semantic-versions-not-latest"],
)
def pinned_tags(snap: Snapshot, p: PinnedParams) -> Outcome:
    """Every container image names a semantic-version tag (v1.2.3, 1.2) or a digest; no `latest`,
    no missing tag (which means `latest`)."""
    findings, judged = [], 0
    for pod in pod_specs(snap, p):
        for c in containers(pod):
            judged += 1
            image = parse_image(c.spec.get("image", ""))
            problem = _tag_problem(image, p.require_semver)
            if problem:
                findings.append(Finding(pod.object, c.field("image"), f"container {c.name} image {c.spec.get('image')!r} {problem}"))
    return judge(findings, judged, "containers")


def _tag_problem(image, require_semver: bool) -> str:
    if image.digest:
        return ""
    if image.tag is None:
        return "has no tag, so it runs whatever latest is; pin a version tag such as :1.4.2 or a @sha256 digest"
    if image.tag == "latest":
        return "uses latest; pin a version tag such as :1.4.2 or a @sha256 digest"
    if require_semver and not image.semver_tag:
        return f"tag {image.tag!r} is not a semantic version; tag releases like 1.4.2 or pin a digest"
    return ""


@dataclass(frozen=True)
class RegistryParams(AppScope):
    public_registries: list[str] = field(default_factory=lambda: list(PUBLIC_REGISTRIES))


@probe(
    "images.pull-secrets",
    "Private images have pull secrets",
    kinds=[*CONTAINER_KINDS, SERVICEACCOUNT],
    params=RegistryParams,
    items=["container-images.image-pull-secrets-are-configured"],
)
def pull_secrets(snap: Snapshot, p: RegistryParams) -> Outcome:
    """Every workload whose images come from outside `public_registries` names imagePullSecrets on its
    pod spec or on its ServiceAccount (when ServiceAccounts are in the snapshot)."""
    accounts = {(namespace(a), name(a)): a for a in snap.of(SERVICEACCOUNT)}
    findings, judged = [], 0
    for pod in workload_specs(snap, p):
        private = sorted({c.spec.get("image", "") for c in containers(pod) if not in_registries(parse_image(c.spec.get("image", "")), p.public_registries)})
        if not private:
            continue
        judged += 1
        account_name = pod.spec.get("serviceAccountName") or "default"
        account = accounts.get((pod.namespace, account_name))
        if pod.spec.get("imagePullSecrets") or (account and account.get("imagePullSecrets")):
            continue
        findings.append(
            Finding(
                pod.object,
                f"{pod.path}.imagePullSecrets",
                f"private image(s) {', '.join(private)} but no pull secret; set imagePullSecrets on the pod spec or on ServiceAccount {pod.namespace}/{account_name}",
            )
        )
    return judge(findings, judged, "workloads with private images")


@dataclass(frozen=True)
class PrivateRegistryParams(AppScope):
    private_registries: list[str] = field(default_factory=lambda: list(PRIVATE_REGISTRIES))


@probe(
    "images.private-registry",
    "Application images come from a private registry",
    kinds=[*CONTAINER_KINDS],
    params=PrivateRegistryParams,
    items=["container-images.images-are-stored-in-private-container-registry"],
)
def private_registry(snap: Snapshot, p: PrivateRegistryParams) -> Outcome:
    """Every application container image comes from one of `private_registries` (prefixes or glob
    patterns; cloud registries by default: add your own, e.g. "ghcr.io/acme"). Injected sidecars are
    the platform's, so only workload templates are judged."""
    findings, judged = [], 0
    for pod in workload_specs(snap, p):
        for c in containers(pod):
            judged += 1
            image = parse_image(c.spec.get("image", ""))
            if not in_registries(image, p.private_registries):
                findings.append(
                    Finding(pod.object, c.field("image"), f"container {c.name} image comes from {image.registry}, not a private registry; push it to your private registry (or list that registry in private_registries)")
                )
    return judge(findings, judged, "containers")
