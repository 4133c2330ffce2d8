"""Probe results for people and for CI: text, JSON, JUnit XML and SARIF 2.1.0."""
import json
import os
from pathlib import Path
from xml.etree import ElementTree as ET

from probes.engine.outcome import CATALOGUE
from probes.engine.evaluate import ProbeResultData

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FORMATS = ("text", "json", "junit", "sarif")


def exit_code(results: list[ProbeResultData]) -> int:
    """0 when every probe passed or was skipped, 1 when any failed, 2 when any errored."""
    statuses = {r.status for r in results}
    return 2 if "error" in statuses else 1 if "fail" in statuses else 0


def render(results: list[ProbeResultData], fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return {"text": to_text, "json": to_json, "junit": to_junit, "sarif": to_sarif}[fmt](results)


def to_text(results: list[ProbeResultData]) -> str:
    lines = []
    for r in results:
        lines.append(f"{r.status.upper():5} {r.probe_id}: {r.outcome.summary}")
        for f in r.outcome.findings:
            lines.append(f"      - {f.object} {f.field}")
            lines.append(f"        {f.message}")
        for entry in r.outcome.exempted:
            lines.append(f"      exempted: {entry}")
    counts = {s: sum(r.status == s for r in results) for s in ("pass", "fail", "error", "skip")}
    lines.append(f"{len(results)} probes: {counts['pass']} passed, {counts['fail']} failed, {counts['error']} errors, {counts['skip']} skipped")
    return "\n".join(lines) + "\n"


def as_dicts(results: list[ProbeResultData]) -> dict:
    """The JSON document: exactly {"probes": [{id, items, status, summary, findings, exempted}]}."""
    return {
        "probes": [
            {
                "id": r.probe_id,
                "items": list(r.items),
                "status": r.status,
                "summary": r.outcome.summary,
                "findings": [f.as_dict() for f in r.outcome.findings],
                "exempted": list(r.outcome.exempted),
            }
            for r in results
        ]
    }


def to_json(results: list[ProbeResultData]) -> str:
    return json.dumps(as_dicts(results), indent=2) + "\n"


def _findings_text(r: ProbeResultData) -> str:
    return "\n".join(f"{f.object} {f.field}: {f.message}" for f in r.outcome.findings) or r.outcome.summary


def to_junit(results: list[ProbeResultData]) -> str:
    """One testcase per probe: fail -> <failure>, error -> <error>, skip -> <skipped>."""
    counts = {s: sum(r.status == s for r in results) for s in ("fail", "error", "skip")}
    suites = ET.Element("testsuites", name="readiness")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="readiness probes",
        tests=str(len(results)),
        failures=str(counts["fail"]),
        errors=str(counts["error"]),
        skipped=str(counts["skip"]),
        time=f"{sum(r.duration_ms for r in results) / 1000:.3f}",
    )
    for r in results:
        case = ET.SubElement(suite, "testcase", classname=f"readiness.{r.probe_id.split('.')[0]}", name=r.probe_id, time=f"{r.duration_ms / 1000:.3f}")
        if r.status == "fail":
            ET.SubElement(case, "failure", message=r.outcome.summary, type="fail").text = _findings_text(r)
        elif r.status == "error":
            ET.SubElement(case, "error", message=r.outcome.summary, type="error").text = r.outcome.summary
        elif r.status == "skip":
            ET.SubElement(case, "skipped", message=r.outcome.summary)
        if r.items:
            ET.SubElement(case, "system-out").text = "items: " + ", ".join(r.items)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _rule(probe_id: str, title: str) -> dict:
    probe = CATALOGUE.get(probe_id)
    rule = {"id": probe_id, "name": probe_id, "shortDescription": {"text": title}}
    if probe is not None:
        rule["fullDescription"] = {"text": probe.description or probe.title}
        rule["properties"] = {"items": list(probe.items)}
    return rule


def _uri(path: str) -> str:
    """Repository-relative where possible: code scanning maps relative URIs onto the checkout."""
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(Path(os.getcwd()).resolve()).as_posix()
    except ValueError:
        return resolved.as_uri()


def _location(obj: str, source: str | None, line: int | None) -> dict:
    location = {"logicalLocations": [{"fullyQualifiedName": obj, "kind": "resource"}]}
    if source:
        physical = {"artifactLocation": {"uri": _uri(source)}}
        if line:
            physical["region"] = {"startLine": line}
        location["physicalLocation"] = physical
    return location


def to_sarif(results: list[ProbeResultData]) -> str:
    rules, index = [], {}
    sarif_results = []
    for r in results:
        if r.probe_id not in index:
            index[r.probe_id] = len(rules)
            rules.append(_rule(r.probe_id, r.title))
        base = {"ruleId": r.probe_id, "ruleIndex": index[r.probe_id]}
        if r.status == "error":
            sarif_results.append({**base, "level": "warning", "message": {"text": f"probe could not run: {r.outcome.summary}"}})
        elif r.status == "fail" and not r.outcome.findings:
            sarif_results.append({**base, "level": "error", "message": {"text": r.outcome.summary}, "locations": [_location("cluster", None, None)]})
        elif r.status == "fail":
            for f in r.outcome.findings:
                sarif_results.append({**base, "level": "error", "message": {"text": f"{f.object} {f.field}: {f.message}"}, "locations": [_location(f.object, f.source, f.line)]})
    run = {"tool": {"driver": {"name": "readiness", "rules": rules}}, "results": sarif_results}
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2) + "\n"
