"""Pod hardening that Polaris and kube-score judge: host namespaces, paths and ports, the seccomp
profile, and the service account token mounted into pods that never call the API."""
from dataclasses import dataclass, field

from probes.engine.outcome import Finding, Outcome, judge, probe
from probes.engine.objects import name, namespace
from probes.engine.podspecs import CONTAINER_KINDS, containers, pod_specs
from probes.engine.scope import AppScope
from probes.engine.snapshot import Snapshot

SERVICEACCOUNT = "v1/ServiceAccount"
HOST_NAMESPACES = ("hostNetwork", "hostPID", "hostIPC")


@dataclass(frozen=True)
class HostAccessParams(AppScope):
    allowed_host_paths: list[str] = field(default_factory=list)  # prefixes a team accepts, e.g. "/var/log"


@probe("security.host-access", "Pods stay out of the node's namespaces, files and ports", kinds=CONTAINER_KINDS, params=HostAccessParams)
def host_access(snap: Snapshot, p: HostAccessParams) -> Outcome:
    """No application pod shares the node's network, PID or IPC namespace, mounts a hostPath
    volume (outside `allowed_host_paths`) or binds a hostPort: each lets one container reach the
    node and every other pod on it."""
    findings, judged = [], 0
    for pod in pod_specs(snap, p):
        judged += 1
        for key in HOST_NAMESPACES:
            if pod.spec.get(key) is True:
                findings.append(Finding(pod.object, f"{pod.path}.{key}", f"{key}: true shares the node's namespace with the pod; remove it"))
        for volume in pod.spec.get("volumes") or []:
            host_path = (volume.get("hostPath") or {}).get("path")
            if host_path is not None and not any(host_path == a or host_path.startswith(a.rstrip("/") + "/") for a in p.allowed_host_paths):
                findings.append(Finding(pod.object, f"{pod.path}.volumes[{volume.get('name')}].hostPath", f"volume {volume.get('name')} mounts the node's {host_path}; use a PersistentVolumeClaim, emptyDir or ConfigMap"))
        for c in containers(pod):
            for port in c.spec.get("ports") or []:
                if port.get("hostPort"):
                    findings.append(Finding(pod.object, c.field(f"ports[{port.get('name') or port.get('containerPort')}].hostPort"),
                                            f"container {c.name} binds host port {port['hostPort']}; expose it through a Service instead"))
    return judge(findings, judged, "pod specs")


SECCOMP_OK = ("RuntimeDefault", "Localhost")


@probe("security.seccomp", "Containers run under a seccomp profile", kinds=CONTAINER_KINDS, params=AppScope)
def seccomp(snap: Snapshot, p: AppScope) -> Outcome:
    """Every container runs under the RuntimeDefault (or a Localhost) seccomp profile, set on the pod's
    securityContext or on the container's; Unconfined or no profile fails (the restricted Pod
    Security Standard requires one)."""
    findings, judged = [], 0
    for pod in pod_specs(snap, p):
        pod_profile = ((pod.spec.get("securityContext") or {}).get("seccompProfile") or {}).get("type")
        for c in containers(pod):
            judged += 1
            profile = ((c.spec.get("securityContext") or {}).get("seccompProfile") or {}).get("type") or pod_profile
            if profile not in SECCOMP_OK:
                where = c.field("securityContext.seccompProfile.type") if profile else f"{pod.path}.securityContext.seccompProfile.type"
                what = "runs Unconfined" if profile == "Unconfined" else "has no seccomp profile"
                findings.append(Finding(pod.object, where, f"container {c.name} {what}; set seccompProfile: {{type: RuntimeDefault}} on the pod's securityContext"))
    return judge(findings, judged, "containers")


@dataclass(frozen=True)
class TokenParams(AppScope):
    api_clients: list[str] = field(default_factory=list)  # "namespace/ServiceAccount" names whose pods call the API


@probe("security.service-account-token", "Pods do not mount an API token they do not use",
       kinds=[*CONTAINER_KINDS, SERVICEACCOUNT], params=TokenParams)
def service_account_token(snap: Snapshot, p: TokenParams) -> Outcome:
    """Each application pod turns off the service account token (automountServiceAccountToken: false
    on the pod spec or on its ServiceAccount), unless its ServiceAccount is listed in `api_clients`:
    a mounted token lets anyone who breaks into the container call the Kubernetes API."""
    accounts = {(namespace(a), name(a)): a for a in snap.of(SERVICEACCOUNT)}
    findings, judged = [], 0
    for pod in pod_specs(snap, p):
        account_name = pod.spec.get("serviceAccountName") or "default"
        if f"{pod.namespace}/{account_name}" in p.api_clients:
            continue
        judged += 1
        mount = pod.spec.get("automountServiceAccountToken")
        if mount is None:
            account = accounts.get((pod.namespace, account_name))
            mount = account.get("automountServiceAccountToken") if account else None
        if mount is not False:
            findings.append(Finding(pod.object, f"{pod.path}.automountServiceAccountToken",
                                    f"the pod mounts ServiceAccount {account_name}'s API token; set automountServiceAccountToken: false (or list {pod.namespace}/{account_name} in api_clients)"))
    return judge(findings, judged, "pod specs")
