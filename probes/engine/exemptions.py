"""Annotation exemptions: `readiness.dev/exempt: <probe-id>[,...]` with `readiness.dev/exempt-reason`.

Exempted objects are taken out of the snapshot before the probe runs, so probes stay unaware of
them. An exempted Namespace takes everything in it along; an exempted workload takes its Pods.
An exemption without a reason is not honoured and becomes a finding of its own. The caller can turn
exemptions off (READINESS_ALLOW_EXEMPTIONS), since anyone who can edit a workload can add one.
"""
from dataclasses import dataclass, field, replace

from probes.engine.outcome import Finding
from probes.engine.objects import annotations, dig, kind_name, ref
from probes.engine.podspecs import POD, TEMPLATE_PATHS, Owners, snapshot_owners
from probes.engine.snapshot import Snapshot

EXEMPT = "readiness.dev/exempt"
EXEMPT_REASON = "readiness.dev/exempt-reason"


@dataclass
class Exemptions:
    """What one probe may not judge, after reading every annotation in the snapshot."""

    refs: dict[str, str] = field(default_factory=dict)  # object ref -> reason
    namespaces: dict[str, str] = field(default_factory=dict)  # exempt namespace -> reason
    findings: list[Finding] = field(default_factory=list)  # exemptions without a reason

    @property
    def exempted(self) -> list[str]:
        return [f"{r}: {reason}" for r, reason in sorted(self.refs.items())]


def exemption_annotations(kind_id: str, obj: dict) -> dict:
    """The object's annotations; a workload's pod template may carry them too (Helm podAnnotations)."""
    template = dig(obj, TEMPLATE_PATHS[kind_id] + ".metadata.annotations") if kind_id in TEMPLATE_PATHS else None
    return {**(template or {}), **annotations(obj)}


def exempt_ids(notes: dict) -> set[str]:
    value = notes.get(EXEMPT) or ""
    return {part.strip() for part in str(value).split(",") if part.strip()}


def annotated(snap: Snapshot) -> list[tuple[str, dict]]:
    """The objects carrying an exemption annotation: read once per run, not once per probe.

    This runs outside every probe's guard, so an object whose annotations cannot be read (a pod
    template's that are not a mapping, which only a hostile API server would answer) exempts
    nothing; the probes that read it report the error themselves."""
    found = []
    for kind_id, objects in snap.objects.items():
        templated = kind_id in TEMPLATE_PATHS
        for o in objects:
            notes = o.get("metadata", {}).get("annotations")
            if not templated and (not notes or (type(notes) is dict and EXEMPT not in notes)):
                continue  # _may_be_exempt's False for most objects, told apart without a call
            try:
                exempt = _may_be_exempt(kind_id, o) and exempt_ids(exemption_annotations(kind_id, o))
            except (AttributeError, TypeError):
                continue
            if exempt:
                found.append((kind_id, o))
    return found


def _may_be_exempt(kind_id: str, obj: dict) -> bool:
    """False when plainly no annotation names an exemption: most objects, told apart without
    merging their annotations. Anything unusual (annotations that are not a mapping) says True."""
    notes = annotations(obj)
    if type(notes) is not dict or EXEMPT in notes:
        return True
    if kind_id not in TEMPLATE_PATHS:
        return False
    template = dig(obj, TEMPLATE_PATHS[kind_id] + ".metadata.annotations")
    return template is not None and (type(template) is not dict or EXEMPT in template)


def collect(candidates: list[tuple[str, dict]], probe_id: str) -> Exemptions:
    """The exemptions for one probe among the annotated objects."""
    found = Exemptions()
    for kind_id, obj in candidates:
        if probe_id in exempt_ids(exemption_annotations(kind_id, obj)):
            _add(found, kind_id, obj, probe_id)
    return found


def _add(found: Exemptions, kind_id: str, obj: dict, probe_id: str) -> None:
    object_ref = ref(kind_id, obj)
    reason = str(exemption_annotations(kind_id, obj).get(EXEMPT_REASON) or "").strip()
    if not reason:
        found.findings.append(
            Finding(
                object_ref,
                f"metadata.annotations.{EXEMPT_REASON}",
                f"exemption from {probe_id} has no reason, so it is not honoured; "
                f"set annotation {EXEMPT_REASON} or remove {probe_id} from {EXEMPT}",
            )
        )
        return
    found.refs[object_ref] = reason
    if kind_name(kind_id) == "Namespace":
        found.namespaces[obj["metadata"]["name"]] = reason


def without_exempted(snap: Snapshot, exemptions: Exemptions) -> Snapshot:
    """A copy of the snapshot without the exempted objects (lists are new, objects are shared)."""
    if not exemptions.refs:
        return snap
    owners = snapshot_owners(snap)
    objects = {}
    for kind_id, items in snap.objects.items():
        objects[kind_id] = [o for o in items if not _is_exempt(owners, kind_id, o, exemptions)]
    return replace(snap, objects=objects)


def _is_exempt(owners: Owners, kind_id: str, obj: dict, exemptions: Exemptions) -> bool:
    if ref(kind_id, obj) in exemptions.refs:
        return True
    if obj.get("metadata", {}).get("namespace") in exemptions.namespaces:
        return True
    return kind_id == POD and owners.workload(obj) in exemptions.refs
