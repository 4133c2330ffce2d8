"""The Markdown export: the release's checklist with [x] ticks and, under each item, the report's
details; the sign-off, waivers and audit trail follow. It is rendered from the canonical content, so
it carries the same facts as the PDF and the JSON, and its manifest line names that content."""
from checklists import checklist_markdown as markdown
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
    tail += ["", "## Audit trail", ""]
    for e in content["audit"]:
        tail.append(f"* #{e['id']} {e['at']} {e['actor']} {e['action']} {e['object']} · {e['hash']}")
    return "\n".join(head + [title] + summary + [rest.lstrip("\n")] + tail) + "\n"
