"""Run bound probes over one snapshot: exemptions applied, errors contained, sources attached."""
import time
from dataclasses import dataclass, field, replace

import probes.engine.catalogue  # noqa: F401  (registers every probe)
from probes.engine import exemptions
from probes.engine.gcpause import collector_paused
from probes.engine.outcome import CATALOGUE, Finding, Outcome
from probes.engine.snapshot import Snapshot


@dataclass(frozen=True)
class Binding:
    """A probe bound to checklist items, with the params that differ from its defaults."""

    probe_id: str
    params: dict = field(default_factory=dict)
    items: tuple[str, ...] = ()


@dataclass
class ProbeResultData:
    probe_id: str
    title: str
    items: list[str]
    params: dict  # as given in the binding
    outcome: Outcome
    duration_ms: float = 0.0

    @property
    def status(self) -> str:
        return self.outcome.status


def _binding(value) -> Binding:
    if isinstance(value, Binding):
        return value
    probe_id, params, items = value
    return Binding(probe_id, dict(params or {}), tuple(items or ()))


def kinds_needed(bindings) -> set[str]:
    """The kind ids a collector must list for these bindings (unknown probes need nothing)."""
    needed = set()
    for binding in map(_binding, bindings):
        if binding.probe_id in CATALOGUE:
            needed.update(CATALOGUE[binding.probe_id].kinds)
    return needed


def catalogue_bindings() -> list[Binding]:
    """Every probe with its default params and the seed items it decides: the CLI's default."""
    return [Binding(p.id, {}, p.items) for p in sorted(CATALOGUE.values(), key=lambda p: p.id)]


def evaluate(snapshot: Snapshot, bindings, allow_exemptions: bool = True) -> list[ProbeResultData]:
    """Evaluate each binding; a probe that raises becomes an `error` result, never a crashed run.

    `allow_exemptions` comes from the READINESS_ALLOW_EXEMPTIONS setting: when False, exemption
    annotations are ignored (and counted in `observed`).
    """
    with collector_paused():
        return _evaluate(snapshot, bindings, allow_exemptions)


def _evaluate(snapshot: Snapshot, bindings, allow_exemptions: bool) -> list[ProbeResultData]:
    snapshot.forget()  # views memoised by an earlier run may predate changes to its objects
    annotated = exemptions.annotated(snapshot)
    sources = getattr(snapshot, "sources", {})
    api_problems = getattr(snapshot, "api_problems", [])
    results = []
    for binding in map(_binding, bindings):
        started = time.perf_counter()
        outcome = _run(snapshot, binding, annotated, allow_exemptions)
        if api_problems and binding.probe_id in CATALOGUE:
            outcome = _with_api_problems(outcome, CATALOGUE[binding.probe_id].kinds, api_problems)
        # Only bundles know sources; a live run's tens of thousands of findings are just copied.
        outcome.findings = [_with_source(f, sources) for f in outcome.findings] if sources else list(outcome.findings)
        title = CATALOGUE[binding.probe_id].title if binding.probe_id in CATALOGUE else binding.probe_id
        elapsed = (time.perf_counter() - started) * 1000
        results.append(ProbeResultData(binding.probe_id, title, list(binding.items), dict(binding.params), outcome, elapsed))
    return results


def _run(snapshot: Snapshot, binding: Binding, annotated, allow_exemptions: bool) -> Outcome:
    probe = CATALOGUE.get(binding.probe_id)
    if probe is None:
        return Outcome("error", f"unknown probe {binding.probe_id!r}")
    try:
        params = probe.parse_params(binding.params)
        found = exemptions.collect(annotated, probe.id)
        if not allow_exemptions:
            outcome = probe.check(snapshot, params)
            ignored = len(found.refs) + len(found.findings)
            if ignored:
                outcome.observed["exemptions_ignored"] = ignored
            return outcome
        outcome = probe.check(exemptions.without_exempted(snapshot, found), params)
        return _with_exemptions(outcome, found)
    except Exception as exc:  # a broken probe or bad params must not sink the whole run
        return Outcome("error", f"{type(exc).__name__}: {exc}")


def _with_exemptions(outcome: Outcome, found: exemptions.Exemptions) -> Outcome:
    outcome.exempted = outcome.exempted + found.exempted
    if found.exempted:
        outcome.summary += f" ({len(found.exempted)} exempted)"
    if found.findings:
        outcome.findings = outcome.findings + found.findings
        if outcome.status in ("pass", "skip"):
            outcome.status = "fail"
            outcome.summary = f"{len(found.findings)} exemption(s) without a reason; {outcome.summary}"
    return outcome


def _with_api_problems(outcome: Outcome, kinds, problems) -> Outcome:
    """Objects of kinds this probe reads, written with a removed or unknown apiVersion, fail it:
    they were judged in the current shape, but the API server will refuse them as written.
    Deprecated versions are findings that leave the verdict as it was."""
    relevant = [p for p in problems if p.kind_id in kinds]
    if not relevant:
        return outcome
    outcome.findings = outcome.findings + [Finding(p.object, "apiVersion", p.message) for p in relevant]
    refused = [p for p in relevant if p.severity != "deprecated"]
    if refused and outcome.status in ("pass", "skip"):
        outcome.status = "fail"
        outcome.summary = f"{len(refused)} object(s) with a removed or unknown apiVersion; {outcome.summary}"
    elif not refused:
        outcome.summary += f" ({len(relevant)} deprecated apiVersion(s))"
    return outcome


def _with_source(finding, sources: dict):
    if finding.source or finding.object not in sources:
        return finding
    path, line = sources[finding.object]
    return replace(finding, source=path, line=line)
