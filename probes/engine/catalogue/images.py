"""Container images: pinned versions, private registries and the pull secrets they need."""
from dataclasses import dataclass, field

from probes.engine.outcome import Finding, Outcome, judge, probe
from probes.engine.imagerefs import in_registries, parse_image
from probes.engine.objects import name, namespace
from probes.engine.podspecs import CONTAINER_KINDS, containers, pod_containers, workload_specs
from probes.engine.scope import AppScope
from probes.engine.snapshot import Snapshot

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
    judged = pod_containers(snap, p)
    # The same few images recur in every pod spec: each is judged once per run.
    problems: dict[str, str] = {}
    findings = []
    for pod, c in judged:
        text = c.spec.get("image", "")
        if type(text) is not str:
            problem = _tag_problem(parse_image(text), p.require_semver)
        elif text in problems:
            problem = problems[text]
        else:
            problem = problems[text] = _tag_problem(parse_image(text), p.require_semver)
        if problem:
            findings.append(Finding(pod.object, c.field("image"), f"container {c.name} image {c.spec.get('image')!r} {problem}"))
    return judge(findings, len(judged), "containers")


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
    pod spec or on its ServiceAccount (when ServiceAccounts are in the snapshot). The same rule for
    what "private" means as images.private-registry: a listed private registry, or a non-public
    registry pulled with a pull secret."""
    accounts = _accounts(snap)
    findings, judged = [], 0
    for pod in workload_specs(snap, p):
        private = sorted({c.spec.get("image", "") for c in containers(pod) if not in_registries(parse_image(c.spec.get("image", "")), p.public_registries)})
        if not private:
            continue
        judged += 1
        if _has_pull_secret(pod, accounts):
            continue
        account_name = pod.spec.get("serviceAccountName") or "default"
        findings.append(
            Finding(
                pod.object,
                f"{pod.path}.imagePullSecrets",
                f"private image(s) {', '.join(private)} but no pull secret; set imagePullSecrets on the pod spec or on ServiceAccount {pod.namespace}/{account_name}",
            )
        )
    return judge(findings, judged, "workloads with private images")


def _accounts(snap: Snapshot) -> dict:
    return {(namespace(a), name(a)): a for a in snap.of(SERVICEACCOUNT)}


def _has_pull_secret(pod, accounts: dict) -> bool:
    account = accounts.get((pod.namespace, pod.spec.get("serviceAccountName") or "default"))
    return bool(pod.spec.get("imagePullSecrets") or (account and account.get("imagePullSecrets")))


def is_private(image, *, pulled_with_secret: bool, private_registries: list[str], public_registries: list[str]) -> bool:
    """The one rule both image probes use: an image is private when it comes from a listed private
    registry, or from a registry that is not public and is pulled with a pull secret."""
    if in_registries(image, private_registries):
        return True
    return pulled_with_secret and not in_registries(image, public_registries)


@dataclass(frozen=True)
class PrivateRegistryParams(AppScope):
    private_registries: list[str] = field(default_factory=lambda: list(PRIVATE_REGISTRIES))
    public_registries: list[str] = field(default_factory=lambda: list(PUBLIC_REGISTRIES))


@probe(
    "images.private-registry",
    "Application images come from a private registry",
    kinds=[*CONTAINER_KINDS, SERVICEACCOUNT],
    params=PrivateRegistryParams,
    items=["container-images.images-are-stored-in-private-container-registry"],
)
def private_registry(snap: Snapshot, p: PrivateRegistryParams) -> Outcome:
    """Every application container image is private: it comes from one of `private_registries`
    (prefixes or glob patterns; cloud registries by default), or from a registry outside
    `public_registries` that the workload pulls with a pull secret (your own registry). Injected
    sidecars are the platform's, so only workload templates are judged."""
    accounts = _accounts(snap)
    findings, judged = [], 0
    for pod in workload_specs(snap, p):
        with_secret = _has_pull_secret(pod, accounts)
        for c in containers(pod):
            judged += 1
            image = parse_image(c.spec.get("image", ""))
            if is_private(image, pulled_with_secret=with_secret, private_registries=p.private_registries, public_registries=p.public_registries):
                continue
            if in_registries(image, p.public_registries):
                why = f"comes from the public registry {image.registry}"
            else:
                why = f"comes from {image.registry}, which is neither a listed private registry nor pulled with a pull secret"
            findings.append(
                Finding(pod.object, c.field("image"), f"container {c.name} image {why}; push it to your private registry (or list that registry in private_registries)")
            )
    return judge(findings, judged, "containers")
