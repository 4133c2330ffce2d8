"""The names of what can decide an item automatically (probes, artifact checks, collectors).

The checklists app records verdicts and knows nothing of how they are reached; the probes app tells it,
when Django starts, which check ids exist (probes/apps.py), so that a template's bindings can be
checked without checklists importing probes.

A template item's `probe_id` holds whichever check decides it: a Kubernetes probe (`workloads.replicas`),
an artifact check (`artifact.junit.suites-pass`) or a collector check (`collector.prometheus.rules`);
the prefix says which kind it is (`kind_of`).

The probes app also registers what happens when a file is attached to an item (`on_file_evidence`):
an item bound to an artifact check has the file judged by a background task. The call goes one way:
checklists announces the evidence, probes decides whether it has anything to do with it.
"""
from collections.abc import Callable

PROBE, ARTIFACT, COLLECTOR = "probe", "artifact", "collector"
KINDS = (PROBE, ARTIFACT, COLLECTOR)
_PREFIXES = {"artifact.": ARTIFACT, "collector.": COLLECTOR}

_known: set[str] = set()
_file_hooks: list[Callable] = []


def register(check_ids) -> None:
    _known.update(check_ids)


def known() -> set[str]:
    return set(_known)


def kind_of(check_id: str) -> str:
    """"probe", "artifact" or "collector" for a bound check id; "" for an item no machine decides."""
    if not check_id:
        return ""
    return next((kind for prefix, kind in _PREFIXES.items() if check_id.startswith(prefix)), PROBE)


def binding_id(binding: dict) -> str:
    """The check id of one metadata binding: `{probe: id}`, `{artifact: id}` or `{collector: id}`."""
    return next((str(binding[kind]) for kind in KINDS if binding.get(kind)), "")


def on_file_evidence(hook: Callable) -> None:
    """Register `hook(*, evidence, item, by) -> str | None`, called inside the transaction that stores a
    file as evidence; what it returns is a note for the person (e.g. "judging it in the background")."""
    if hook not in _file_hooks:
        _file_hooks.append(hook)


def file_evidence_added(*, evidence, item, by) -> list[str]:
    return [note for hook in _file_hooks if (note := hook(evidence=evidence, item=item, by=by))]
