"""One place to find what can decide a checklist item: a Kubernetes probe, an artifact check or a
collector check. All three share the `(input, params) -> Outcome` shape and params validation."""
import probes.engine.catalogue  # noqa: F401  (registers every probe)
from probes.engine.artifacts import ARTIFACT_CHECKS
from probes.engine.outcome import CATALOGUE
from probes.engine.observability import COLLECTOR_CHECKS

KINDS = ("probe", "artifact", "collector")
REGISTRIES = {"probe": CATALOGUE, "artifact": ARTIFACT_CHECKS, "collector": COLLECTOR_CHECKS}


def lookup(kind: str, check_id: str):
    """The Probe, ArtifactCheck or CollectorCheck registered under `check_id`, or None."""
    return REGISTRIES[kind].get(check_id)


def find(check_id: str):
    """(kind, check) for an id in any registry (ids are prefixed: artifact.*, collector.*), or None."""
    for kind, registry in REGISTRIES.items():
        if check_id in registry:
            return kind, registry[check_id]
    return None
