"""Reading Kubernetes objects (the API's JSON dicts) the same way in every probe."""
from probes.engine.kinds import KINDS


def kind_name(kind_id: str) -> str:
    return kind_id.rsplit("/", 1)[-1]


def name(obj: dict) -> str:
    return obj.get("metadata", {}).get("name", "")


def namespace(obj: dict) -> str:
    return obj.get("metadata", {}).get("namespace", "")


def labels(obj: dict) -> dict:
    return obj.get("metadata", {}).get("labels") or {}


def annotations(obj: dict) -> dict:
    return obj.get("metadata", {}).get("annotations") or {}


def ref(kind_id: str, obj: dict) -> str:
    """"namespace/Kind/name" or "Kind/name" for cluster-scoped kinds: how findings name objects.

    The kind comes from the snapshot's grouping because items of an API list carry no `kind`.
    """
    kind = KINDS[kind_id] if kind_id in KINDS else None
    if kind is not None and not kind.namespaced:
        return f"{kind.kind}/{name(obj)}"
    return f"{namespace(obj)}/{kind_name(kind_id)}/{name(obj)}"


# Paths split once: dig runs a hundred thousand times over a large cluster.
_STEPS: dict[str, tuple[str, ...]] = {}


def dig(obj, path: str, default=None):
    """obj["a"]["b"]... for "a.b", returning `default` when any step is missing or not a mapping."""
    steps = _STEPS.get(path)
    if steps is None:
        steps = tuple(path.split("."))
        if len(_STEPS) < 4096:  # paths are the catalogue's own: a few hundred at most
            _STEPS[path] = steps
    for step in steps:
        if not isinstance(obj, dict) or step not in obj:
            return default
        obj = obj[step]
    return obj


def is_true(value) -> bool:
    """Annotations and labels are strings; Helm output sometimes carries real booleans."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")
