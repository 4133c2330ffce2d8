"""Container security: security contexts, read-only root filesystems, Pod Security admission, secrets."""
import re
from dataclasses import dataclass, field

from probes.engine.outcome import Finding, Outcome, judge, probe
from probes.engine.objects import labels, name, namespace
from probes.engine.podspecs import CONTAINER_KINDS, Container, pod_containers
from probes.engine.podspecs import namespaces_with_pods
from probes.engine.scope import AppScope, in_scope
from probes.engine.snapshot import Snapshot

NAMESPACE = "v1/Namespace"
CONFIGMAP = "v1/ConfigMap"
PSA_ENFORCE = "pod-security.kubernetes.io/enforce"


def _effective(c: Container, key: str):
    """A container's securityContext setting, falling back to the pod's where Kubernetes does."""
    own = (c.spec.get("securityContext") or {}).get(key)
    return own if own is not None else (c.pod_spec.get("securityContext") or {}).get(key)


def _non_root_findings(c: Container) -> list[Finding]:
    user = _effective(c, "runAsUser")
    if user == 0:
        return [Finding(c.object, c.field("securityContext.runAsUser"), f"container {c.name} runs as root (runAsUser: 0); set runAsUser to a non-zero uid such as 1000")]
    if _effective(c, "runAsNonRoot") is True or (isinstance(user, int) and user > 0):
        return []
    return [Finding(c.object, c.field("securityContext.runAsNonRoot"), f"container {c.name} may run as root; set securityContext.runAsNonRoot: true (and runAsUser: 1000)")]


def _hardening_findings(c: Container, allowed_caps: list[str]) -> list[Finding]:
    context = c.spec.get("securityContext") or {}
    found = []
    if context.get("privileged"):
        found.append(Finding(c.object, c.field("securityContext.privileged"), f"container {c.name} is privileged; remove securityContext.privileged"))
    if context.get("allowPrivilegeEscalation") is not False:
        found.append(Finding(c.object, c.field("securityContext.allowPrivilegeEscalation"), f"container {c.name} may escalate privileges; set securityContext.allowPrivilegeEscalation: false"))
    capabilities = context.get("capabilities") or {}
    if "ALL" not in [str(x).upper() for x in capabilities.get("drop") or []]:
        found.append(Finding(c.object, c.field("securityContext.capabilities.drop"), f'container {c.name} keeps default capabilities; set securityContext.capabilities.drop: ["ALL"]'))
    added = [x for x in capabilities.get("add") or [] if str(x).upper().removeprefix("CAP_") not in allowed_caps]
    if added:
        found.append(Finding(c.object, c.field("securityContext.capabilities.add"), f"container {c.name} adds capabilities {added}; remove them (allowed: {', '.join(allowed_caps) or 'none'})"))
    return found


def _judge_containers(snap: Snapshot, p: AppScope, check) -> Outcome:
    judged = pod_containers(snap, p)
    return judge([f for _, c in judged for f in check(c)], len(judged), "containers")


@probe(
    "security.non-root",
    "Containers run as a non-root user",
    kinds=CONTAINER_KINDS,
    params=AppScope,
    items=["container-security.containers-run-as-non-root-user"],
)
def non_root(snap: Snapshot, p: AppScope) -> Outcome:
    """Every container (pod- or container-level securityContext) sets runAsNonRoot: true or a non-zero
    runAsUser, and none sets runAsUser: 0."""
    return _judge_containers(snap, p, _non_root_findings)


@dataclass(frozen=True)
class ContextParams(AppScope):
    allowed_capabilities: list[str] = field(default_factory=lambda: ["NET_BIND_SERVICE"])


@probe(
    "security.security-context",
    "Security contexts are hardened",
    kinds=CONTAINER_KINDS,
    params=ContextParams,
    items=["container-security.security-contexts-are-configured"],
)
def security_context(snap: Snapshot, p: ContextParams) -> Outcome:
    """Every container runs as non-root, is not privileged, sets allowPrivilegeEscalation: false and
    drops ALL capabilities, adding back none beyond `allowed_capabilities`."""
    return _judge_containers(snap, p, lambda c: _non_root_findings(c) + _hardening_findings(c, p.allowed_capabilities))


@probe(
    "security.read-only-root-fs",
    "Containers have a read-only root filesystem",
    kinds=CONTAINER_KINDS,
    params=AppScope,
    items=["container-security.read-only-root-filesystem-is-enabled-where-possible"],
)
def read_only_root_fs(snap: Snapshot, p: AppScope) -> Outcome:
    """Every container sets securityContext.readOnlyRootFilesystem: true (mount an emptyDir where it
    must write). "Where possible" is what exemptions are for."""

    judged = pod_containers(snap, p)
    # A filter, not a check per container: nearly every container passes.
    writable = [c for _, c in judged if (c.spec.get("securityContext") or {}).get("readOnlyRootFilesystem") is not True]
    findings = [Finding(c.object, c.field("securityContext.readOnlyRootFilesystem"), f"container {c.name} can write its root filesystem; set securityContext.readOnlyRootFilesystem: true and mount an emptyDir for scratch space")
                for c in writable]
    return judge(findings, len(judged), "containers")


@dataclass(frozen=True)
class PodSecurityParams(AppScope):
    level: str = "restricted"


@probe(
    "security.pod-security-admission",
    "Pod Security admission enforces the restricted level",
    kinds=[NAMESPACE, *CONTAINER_KINDS],
    params=PodSecurityParams,
    items=["container-security.pod-security-standards-are-enforced-restricted"],
)
def pod_security_admission(snap: Snapshot, p: PodSecurityParams) -> Outcome:
    """Every application namespace that runs pods carries the label
    pod-security.kubernetes.io/enforce set to `level`."""
    namespaces = {name(ns): ns for ns in snap.of(NAMESPACE)}
    findings = []
    judged = namespaces_with_pods(snap, p)
    for ns in judged:
        if ns not in namespaces:
            findings.append(Finding(f"Namespace/{ns}", f"metadata.labels.{PSA_ENFORCE}", f"the Namespace object is not in the snapshot, so its Pod Security level cannot be confirmed; add Namespace {ns} with label {PSA_ENFORCE}: {p.level}"))
        elif labels(namespaces[ns]).get(PSA_ENFORCE) != p.level:
            current = labels(namespaces[ns]).get(PSA_ENFORCE)
            findings.append(Finding(f"Namespace/{ns}", f"metadata.labels.{PSA_ENFORCE}", f"namespace enforces {current or 'no Pod Security level'}; set label {PSA_ENFORCE}: {p.level}"))
    return judge(findings, len(judged), "application namespaces")


SECRET_NAMES = r"(?i)(passw(or)?d|passwd|secret|token|api[_-]?key|apikey|private[_-]?key|credential|access[_-]?key|connection[_-]?string|client[_-]?secret)"
NOT_SECRET_NAMES = r"(?i)(_FILE|_PATH|_DIR|_NAME|_REF|_TTL|_EXPIRY|_LENGTH|_HEADER|_ENABLED)$"
_CREDENTIALS_IN_URL = re.compile(r"://[^/\s:@]+:[^/\s@]+@")


# Cloud and SaaS credentials known by their variable names, which the generic pattern misses.
WELL_KNOWN_CREDENTIALS = [
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AZURE_CLIENT_SECRET", "AZURE_STORAGE_KEY",
    "AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_SAS_TOKEN", "ARM_CLIENT_SECRET", "ARM_ACCESS_KEY", "GOOGLE_API_KEY",
    "GOOGLE_CREDENTIALS", "GCP_SA_KEY", "GCP_SERVICE_ACCOUNT_KEY", "OCI_CLI_KEY_CONTENT", "OCI_PRIVATE_KEY",
    "DIGITALOCEAN_ACCESS_TOKEN", "DO_TOKEN", "CLOUDFLARE_API_TOKEN", "HEROKU_API_KEY", "GITHUB_TOKEN", "GH_TOKEN",
    "GITLAB_TOKEN", "NPM_TOKEN", "SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "SENTRY_DSN", "STRIPE_SECRET_KEY",
    "TWILIO_AUTH_TOKEN", "SENDGRID_API_KEY", "DATADOG_API_KEY", "DD_API_KEY", "NEW_RELIC_LICENSE_KEY",
]
# Values that are credentials whatever the variable is called.
SECRET_VALUES = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"  # PEM private keys: RSA, EC, OPENSSH, ENCRYPTED, PKCS#8
    r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"  # AWS access key ids
    r"|\bgh[pousr]_[A-Za-z0-9]{36,}"  # GitHub tokens
    r"|\bglpat-[A-Za-z0-9_-]{20,}"  # GitLab personal access tokens
    r"|\bxox[abprs]-[A-Za-z0-9-]{10,}"  # Slack tokens
    r"|\bAIza[0-9A-Za-z_-]{35}"  # Google API keys
    r"|\bsk_live_[0-9A-Za-z]{16,}"  # Stripe live keys
    r"|AccountKey=[A-Za-z0-9+/=]{40,}"  # Azure storage connection strings
    r"|\"private_key\":\s*\"-----BEGIN"  # GCP service account JSON
)


def secret_value_kind(value: str) -> str:
    """What kind of credential a literal value is, or "" (for findings; never echoes the value)."""
    match = SECRET_VALUES.search(value)
    if not match:
        return ""
    text = match.group(0)
    if "PRIVATE KEY" in text or "private_key" in text:
        return "a PEM private key"
    if text.startswith(("AKIA", "ASIA")):
        return "an AWS access key id"
    if text.startswith("AccountKey="):
        return "an Azure storage account key"
    return "an API token"


@dataclass(frozen=True)
class InlineSecretParams(AppScope):
    name_pattern: str = SECRET_NAMES
    ignore_pattern: str = NOT_SECRET_NAMES
    well_known_names: list[str] = field(default_factory=lambda: list(WELL_KNOWN_CREDENTIALS))
    check_configmaps: bool = True


@probe(
    "security.no-inline-secrets",
    "No secrets are written into manifests",
    kinds=[*CONTAINER_KINDS, CONFIGMAP],
    params=InlineSecretParams,
    items=["secrets-management.secrets-are-stored-in-kubernetes-secrets-or-cloud-secret"],
)
def no_inline_secrets(snap: Snapshot, p: InlineSecretParams) -> Outcome:
    """No container env var whose name looks secret (`name_pattern`, or a well-known cloud or SaaS
    credential name) holds a literal value instead of valueFrom.secretKeyRef; no env value or
    ConfigMap value is itself a credential (a PEM private key, an AWS key id, a GitHub, GitLab,
    Slack, Google or Stripe token) or embeds credentials in a URL; and (with `check_configmaps`) no
    ConfigMap in application namespaces has a secret-looking key."""
    secret_name, ignored = re.compile(p.name_pattern), re.compile(p.ignore_pattern)
    known = {n.upper() for n in p.well_known_names}
    looks_secret = lambda key: key.upper() in known or (bool(secret_name.search(key)) and not ignored.search(key))  # noqa: E731

    def holds(env_name, value: str) -> str:
        """What is wrong with a literal env value, as the finding says it ("" when nothing is)."""
        kind = secret_value_kind(value)
        if kind:
            return f"holds {kind}"
        if looks_secret(env_name):
            return "holds a literal secret"
        return "embeds credentials in a URL" if _CREDENTIALS_IN_URL.search(value) else ""

    # The same variables (LOG_LEVEL=info) recur in every workload: each pair is judged once per run.
    judged_pairs: dict[tuple[str, str], str] = {}
    findings, judged = [], 0
    for pod, c in pod_containers(snap, p):
        judged += 1
        for env in c.spec.get("env") or []:
            value = env.get("value")
            if value in (None, ""):
                continue
            env_name, value = env.get("name", ""), str(value)
            if type(env_name) is str:
                pair = (env_name, value)
                if pair not in judged_pairs:
                    judged_pairs[pair] = holds(env_name, value)
                held = judged_pairs[pair]
            else:
                held = holds(env_name, value)
            if not held:
                continue
            findings.append(Finding(pod.object, c.field(f"env[{env.get('name')}].value"),
                                    f"container {c.name} env {env.get('name')} {held}; move it to a Secret and use valueFrom.secretKeyRef"))
    if p.check_configmaps:
        for cm in in_scope(snap, p, CONFIGMAP):
            judged += 1
            for key, value in (cm.get("data") or {}).items():
                kind = secret_value_kind(str(value or ""))
                if kind:
                    findings.append(Finding(f"{namespace(cm)}/ConfigMap/{name(cm)}", f"data.{key}", f"ConfigMap key {key} holds {kind}; ConfigMaps are not protected like Secrets, move it to a Secret"))
                elif looks_secret(key):
                    findings.append(Finding(f"{namespace(cm)}/ConfigMap/{name(cm)}", f"data.{key}", f"ConfigMap key {key} looks like a secret; ConfigMaps are not protected like Secrets, move it to a Secret"))
    return judge(findings, judged, "containers and ConfigMaps")
