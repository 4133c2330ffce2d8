"""The Markdown export: the release's checklist with [x] ticks and, under each item, the report's
details; the sign-off, waivers and audit trail follow. It is rendered from the canonical content, so
it carries the same facts as the PDF and the JSON, and its manifest line names that content."""
from checklists import checklist_markdown as markdown
from checklists.audit import canonical_json
from checklists.services.templates import version_to_checklist

TICKED = {"done", "not_applicable"}


def _item_notes(item: dict) -> str:
    lines = [f"Status: {item['status_label']} · owner {item['owner_team'] or 'none'} · "
             f"assignee {item['assignee'] or 'none'}" + (f" · completed by {item['completed_by']}"
                                                          if item["completed_by"] else "")]
    probe = item["probe"]
    if probe:
        lines.append(f"Probe {probe['id'] or '-'}: {probe['status'] or 'not run'}"
                     + (f", checked {probe['checked_at']}" if probe["checked_at"] else ""))
        for result in probe["results"]:
            lines.append(f"  - {result['at']} {result['status']}: {result['summary']}")
    for w in item["waivers"]:
        lines.append(f"Waiver ({w['state']}): {w['justification']} · granted by {w['decided_by'] or '-'} · "
                     f"expires {w['expires_on']}")
    for e in item["evidence"]:
        lines.append(f"Evidence: {e['name']} ({e['kind']}) sha256 {e['sha256']} · {e['by'] or 'system'} {e['at']}")
    for c in item["comments"]:
        body = " ".join(c["body"].split())
        lines.append(f"Comment by {c['author'] or 'deleted user'} {c['at']}: {body}")
    return "\n".join(f"> {line}" for line in lines)


def _requirement(snapshot: dict | None) -> str:
    if not snapshot:
        return "removed"
    scope = ", ".join(snapshot.get("sections") or []) or "whole release"
    return (f"{snapshot.get('name')}: role {snapshot.get('role') or 'any'}, team {snapshot.get('team') or 'any'}, "
            f"scope {scope}")


def _controls(controls: dict) -> list[str]:
    rules = controls["rules"]
    lines = ["", "### Sign-off rules in force", "",
             ("* **One person may decide several requirements of this release.** "
              if rules["one_person_many_requirements"] else "* **One person, one requirement.** ")
             + rules["separation_rule"],
             f"* **Failed probes: {rules['override_policy_label']}.** {rules['override_rule']}",
             "", "### Overrides of failed probes", ""]
    for o in controls["overrides"]:
        lines.append(f"* {o['at']} **{o['item']}** ({' '.join(o['text'].split())}) set to {o['to_status']} "
                     f"(was {o['from_status']}) by {o['by']}: {' '.join(o['reason'].split())}")
        lines.append(f"  * the probe found, at the time: {o['probe_summary'] or 'no stored probe result'}")
        for finding in o["probe_findings"]:
            where = finding.get("object") if isinstance(finding, dict) else finding
            message = finding.get("message") if isinstance(finding, dict) else None
            lines.append(f"    * {where}" + (f": {message}" if message else ""))
    if not controls["overrides"]:
        lines.append("* No person overrode a failed probe.")
    if "check_params" in controls:  # schema 3
        lines += ["", "### Params set on checks", ""]
        for ch in controls["check_params"]:
            lines.append(f"* {ch['at']} {ch['by']} set **{ch['item']}** ({ch['check']}): "
                         f"{canonical_json(ch['before'])} → {canonical_json(ch['after'])}")
        if not controls["check_params"]:
            lines.append("* Every check judged by its template's params.")
    lines += ["", "### Changes to requirements from the template", ""]
    for ch in controls["template_requirement_changes"]:
        lines.append(f"* {ch['at']} {ch['by']} {ch['action']} **{ch['requirement']}**: "
                     f"{_requirement(ch['before'])} → {_requirement(ch['after'])}")
    if not controls["template_requirement_changes"]:
        lines.append("* No requirement that came from the template was changed or removed.")
    return lines


def render(content: dict, manifest: str, template_version) -> str:
    checklist = version_to_checklist(template_version)
    items = {item["key"]: item for item in content["items"]}
    ticks = {key: item["status"] in TICKED for key, item in items.items()}
    notes = {key: _item_notes(item) for key, item in items.items()}
    r = content["release"]
    head = [
        f"<!-- Readiness report for release #{r['id']}; manifest SHA-256 {manifest} -->", "",
    ]
    body = markdown.render(checklist, ticks=ticks, notes=notes)
    title, _, rest = body.partition("\n")
    summary = [
        "", f"**Release:** {r['service']} {r['version']} ({r['environment']}), #{r['id']}  ",
        f"**Template:** {content['template']['name']} v{content['template']['version']}  ",
        f"**State:** {r['state_label']}  ", f"**Outcome:** {r['outcome']}  ",
        f"**Manifest SHA-256:** `{manifest}`", "",
    ]
    tail = ["", "## Sign-off", ""]
    for req in content["signoff"]["requirements"]:
        scope = ", ".join(req["sections"]) or "whole release"
        tail.append(f"* Requirement **{req['name']}**: role {req['role'] or 'any'}, team {req['team'] or 'any'}, "
                    f"scope {scope}")
    tail.append("")
    for d in content["signoff"]["decisions"]:
        mark = f" (SUPERSEDED {d['superseded_at']}: {d['superseded_reason']})" if d["superseded_at"] else ""
        tail.append(f"* {d['at']} **{d['decision']}** {d['requirement']} by {d['approver']}: "
                    f"{d['comment'] or 'no comment'} · state {d['state_hash']}{mark}")
    if "controls" in content:
        tail += _controls(content["controls"])
    tail += ["", "## Audit trail", ""]
    for e in content["audit"]:
        tail.append(f"* #{e['id']} {e['at']} {e['actor']} {e['action']} {e['object']} · {e['hash']}")
    return "\n".join(head + [title] + summary + [rest.lstrip("\n")] + tail) + "\n"
