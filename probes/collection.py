"""Collection: the facts of a release's observability endpoints, judged by the collector checks its
items are bound to. Network I/O, no database writes: `probes.services` stores what this returns the
way it stores a probe run's results.

Each endpoint is read once per set of collector options, however many checks read it. An item whose
check has no endpoint for the release's environment is skipped with the reason; an endpoint that
cannot be read is an `error` for every check that needed it (never a pass).
"""
import json
from dataclasses import dataclass, field

from probes import crypto
from probes.cluster_collector import CollectError
from probes.endpoints import collector_endpoint, endpoints_for
from probes.engine.evaluate import ProbeResultData
from probes.engine.observability.checks import COLLECTOR_CHECKS, judge_facts
from probes.engine.observability.collectors import collect
from probes.engine.outcome import Outcome, ParamsError, skip


@dataclass
class Collected:
    results: list[ProbeResultData]
    stats: dict
    transient: list[str] = field(default_factory=list)  # messages of failures a retry may cure


def collector_bindings(release) -> dict[tuple[str, str], list[str]]:
    """{(check id, params as JSON): [item keys]} of the release's collector-bound items. One query."""
    grouped: dict[tuple[str, str], list[str]] = {}
    items = release.items.filter(probe_id__startswith="collector.").order_by("order").values_list("key", "probe_id", "probe_params")
    for key, check_id, params in items:
        grouped.setdefault((check_id, json.dumps(params or {}, sort_keys=True)), []).append(key)
    return grouped


def collect_release(release, endpoints) -> Collected:
    """Judge every collector-bound item of `release` on `endpoints` (those the run was started with)."""
    serving = endpoints_for(release.environment, endpoints)
    facts: dict[tuple, dict | Exception] = {}
    results, transient = [], []
    used: dict[str, dict] = {}
    for (check_id, params_json), keys in collector_bindings(release).items():
        params = json.loads(params_json)
        check = COLLECTOR_CHECKS.get(check_id)
        if check is None:
            outcome = Outcome("error", f"{check_id} is no collector check.", observed={"error": "unknown-check"})
        elif (endpoint := serving.get(check.source)) is None:
            outcome = skip(f"No {check.source} endpoint serves the {release.environment} environment: "
                           f"an admin adds one on the Observability page.", source=check.source)
        else:
            read = _facts(facts, endpoint, check.options)
            used[endpoint.name] = {"kind": endpoint.kind, "url": endpoint.url}
            outcome = _judge(check_id, read, params, endpoint)
            if isinstance(read, CollectError) and read.transient:
                transient.append(str(read))
        results.append(ProbeResultData(check_id, check.title if check else check_id, keys, params, outcome))
    calls = sum(f.get("calls", 0) for f in facts.values() if isinstance(f, dict))
    return Collected(results, {"endpoints": used, "calls": calls, "collections": len(facts)}, sorted(set(transient)))


def _facts(cache: dict, endpoint, options: tuple) -> dict | Exception:
    """The endpoint's facts for these collector options, read once per run; a failure is kept as the
    exception so each check that needed it says why."""
    key = (endpoint.pk, options)
    if key not in cache:
        try:
            cache[key] = collect(collector_endpoint(endpoint), **dict(options))
        except (CollectError, crypto.SecretKeyError) as exc:
            cache[key] = exc
    return cache[key]


def _judge(check_id: str, read: dict | Exception, params: dict, endpoint) -> Outcome:
    if isinstance(read, Exception):
        return Outcome("error", f"{endpoint.name}: {read}", observed={
            "endpoint": endpoint.url, "error": type(read).__name__, "transient": bool(getattr(read, "transient", False))})
    try:
        return judge_facts(check_id, read, params)
    except ParamsError as exc:
        return Outcome("error", f"The binding's params are not valid: {exc}", observed={"error": "params"})
