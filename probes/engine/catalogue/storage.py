"""Persistent storage: production-grade storage classes and a default class."""
from dataclasses import dataclass, field

from probes.engine.outcome import Finding, Outcome, judge, probe
from probes.engine.objects import annotations, dig, is_true, name, namespace
from probes.engine.podspecs import STATEFULSET
from probes.engine.scope import AppScope, app_namespaces
from probes.engine.snapshot import Snapshot

PVC = "v1/PersistentVolumeClaim"
STORAGECLASS = "storage.k8s.io/v1/StorageClass"
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"

PRODUCTION_CLASSES = [
    "oci-bv",  # OKE block volume
    "oci-bv-encrypted",
    "azure-disk",
    "managed-premium",  # AKS premium SSD
    "managed-csi-premium",
    "premium-rwo",  # GKE
    "standard-rwo",
    "gp3",  # EKS
    "io2",
]


@dataclass(frozen=True)
class StorageClassParams(AppScope):
    allowed: list[str] = field(default_factory=lambda: list(PRODUCTION_CLASSES))


@probe(
    "storage.production-classes",
    "Persistent volumes use production-grade storage classes",
    kinds=[PVC, STORAGECLASS, STATEFULSET, "v1/Namespace"],
    params=StorageClassParams,
    items=["storage.persistent-volumes-use-production-grade-storage-classes"],
)
def production_classes(snap: Snapshot, p: StorageClassParams) -> Outcome:
    """Bound PersistentVolumeClaims (and, in manifests, all claims and StatefulSet volumeClaimTemplates)
    in application namespaces use a storage class from `allowed`; a claim without a class gets the
    default class, so one must exist. On a live cluster a default StorageClass must exist."""
    classes = snap.of(STORAGECLASS)
    default = next((name(c) for c in classes if is_true(annotations(c).get(DEFAULT_CLASS))), None)
    findings, judged = [], 0
    for object_ref, path, claim_spec in _claims(snap, p):
        judged += 1
        chosen = claim_spec.get("storageClassName")
        if chosen is None and default:
            chosen = default
        if chosen is None:
            findings.append(
                Finding(object_ref, f"{path}.storageClassName", f"claim names no storage class and no default class is known; set storageClassName to one of {', '.join(p.allowed)}")
            )
        elif chosen not in p.allowed:
            findings.append(
                Finding(object_ref, f"{path}.storageClassName", f"storage class {chosen!r} is not production-grade; use one of {', '.join(p.allowed)}")
            )
    if snap.live and classes and default is None:
        findings.append(
            Finding("StorageClass/*", f"metadata.annotations.{DEFAULT_CLASS}", f'no default StorageClass; annotate one production class with {DEFAULT_CLASS}: "true"')
        )
    return judge(findings, judged, "persistent volume claims", observed={"default_class": default})


def _claims(snap: Snapshot, p: AppScope):
    """(object, field path, claim spec) for each claim to judge."""
    chosen = app_namespaces(snap, p)
    for claim in snap.of(PVC):
        if namespace(claim) not in chosen:
            continue
        # A live claim still Pending has no volume yet; its class is judged once it binds.
        if snap.live and dig(claim, "status.phase") not in (None, "Bound"):
            continue
        yield f"{namespace(claim)}/PersistentVolumeClaim/{name(claim)}", "spec", claim.get("spec") or {}
    if snap.live:
        return  # live StatefulSets' claims are already in the PVC list
    for sts in snap.of(STATEFULSET):
        if namespace(sts) not in chosen:
            continue
        for template in dig(sts, "spec.volumeClaimTemplates", []) or []:
            path = f"spec.volumeClaimTemplates[{name(template)}].spec"
            yield f"{namespace(sts)}/StatefulSet/{name(sts)}", path, template.get("spec") or {}
