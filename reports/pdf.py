"""The PDF rendering of a report: the page text made here, laid out by Typst (reports/layout.py, with
the template reports/typst/report.typ), then signed.

Nothing a person wrote ever becomes Typst markup or code: `page_data` puts every text the pages show
into one JSON document, handed to Typst as an input (`sys.inputs`) and read there with `json()`, so an
item titled `#read("/etc/passwd")` is printed as those characters and nothing is evaluated.

The manifest goes into the PDF three times: printed on the cover and in every footer, in the document
information dictionary (`readinessmanifest`, read by verify_report and verify_bundle.py, written by
the seal), and as the embedded attachment `report.json` whose SHA-256 it is. Then the server signs the
manifest and the SHA-256 of the rendered bytes, and the signature is appended to the PDF (reports/seal.py).
"""
import datetime
import hashlib

from django.utils import timezone

from checklists.audit import canonical_json
from reports import presentation
from reports.content import content_bytes
from reports.layout import layout
from reports.seal import seal_pdf
from readiness import signing

# The document information entries verify_report reads (lower-cased, as WeasyPrint wrote them).
METADATA_MANIFEST = "readinessmanifest"
METADATA_RELEASE = "readinessrelease"
SIGNATURE_SCHEMA = "readiness.report-signature/1"


def sections_with_items(content: dict) -> list[dict]:
    """The sections in order, each with its own items."""
    by_section: dict[str, list] = {}
    for item in content["items"]:
        by_section.setdefault(item["section"], []).append(item)
    return [{**section, "items": by_section.get(section["key"], [])} for section in content["sections"]]


def _moment(value: datetime.datetime) -> str:
    return presentation.when(value.isoformat())


def _or(value, default: str = "—") -> str:
    return default if value in (None, "") else str(value)


def _scope(sections) -> str:
    return ", ".join(sections) if sections else "whole release"


def _requirement_text(r: dict | None) -> str:
    if not r:
        return "removed"
    role = presentation.label(r["role"]) if r.get("role") else "any"
    return f"{r.get('name')}: role {role}, team {_or(r.get('team'), 'any')}, scope {_scope(r.get('sections'))}"


def _findings(findings) -> list[str]:
    lines = []
    for f in findings or []:
        where = (f.get("object") or f) if isinstance(f, dict) else f
        message = f.get("message") if isinstance(f, dict) else None
        lines.append(f"{where}: {message}" if message else f"{where}")
    return lines


def _cover(content: dict, manifest: str, *, generated_by, generated_at, requested_at, anchor) -> dict:
    release = content["release"]
    public = signing.server_public_key()
    generated = _moment(generated_at)
    requested = _moment(requested_at) if requested_at else None
    return {
        "title": f"{release['service']} {release['version']}",
        "facts": [
            ["Release", f"#{release['id']}"], ["Service", release["service"]], ["Version", release["version"]],
            ["Environment", release["environment"]],
            ["Template", f"{content['template']['name']}, version {content['template']['version']}"],
            ["Target date", _or(release["target_date"])], ["Release manager", _or(release["release_manager"])],
            ["Created by", f"{_or(release['created_by'])} at {presentation.when(release['created_at'])}"],
            ["State", release["state_label"] + (" (drift flagged)" if release["drifted"] else "")],
            ["Generated", generated + (f" for {generated_by}" if generated_by else "")
             + (f" (requested {requested})" if requested else "")],
        ],
        "as_of": (f"This report and its manifest reflect the release as recorded at {generated}, when its content "
                  f"was read from the database" + (", not when it was requested" if requested else "")
                  + ". Later changes are not in it: verify_report names them."),
        "outcome": f"Outcome: {release['outcome']}",
        "manifest": manifest, "state_hash": content["signoff"]["state_hash"],
        "key_id": signing.key_id(public), "public_key": signing.public_b64(public),
        "anchor": None if not anchor else {
            "text": f"event #{anchor['payload']['event_id']} of {anchor['payload']['events']}, hash",
            "hash": anchor["payload"]["hash"], "at": presentation.when(anchor["payload"]["at"])},
    }


def _progress(progress: dict) -> dict:
    def row(r):
        return [r["name"], *(str(r[k]) for k in ("total", "complete", "percent", "failed", "waived"))]

    statuses = ", ".join(f"{presentation.label(status)} {count}" for status, count in progress["by_status"].items())
    total = progress["total"]
    return {"summary": f"{total['complete']} of {total['total']} items complete ({total['percent']}%). "
                       f"By status: {statuses}.",
            "by_section": [row(r) for r in progress["by_section"]], "by_team": [row(r) for r in progress["by_team"]]}


def _signoff(content: dict) -> dict:
    signoff = content["signoff"]
    return {
        "requirements": [[r["name"], presentation.label(r["role"]) if r["role"] else "any",
                          _or(r["team"], "any"), _scope(r["sections"])] for r in signoff["requirements"]],
        "decisions": [{
            "at": presentation.when(d["at"]), "requirement": d["requirement"],
            "approver": _or(d["approver"], "deleted user"),
            "role_team": " ".join(x for x in (d["role"], d["team"]) if x), "decision": d["decision"],
            "decision_label": presentation.label(d["decision"]), "comment": d["comment"],
            "state_hash": d["state_hash"], "superseded": bool(d["superseded_at"]),
            "superseded_text": (f"superseded {presentation.when(d['superseded_at'])}: {d['superseded_reason']}"
                                if d["superseded_at"] else ""),
        } for d in signoff["decisions"]],
    }


def _controls(controls: dict | None) -> dict | None:
    if controls is None:  # a report of schema 1
        return None
    rules = controls["rules"]
    many = rules["one_person_many_requirements"]
    return {
        "rules": [
            {"warning": many, "headline": ("One person may decide several requirements of this release." if many
                                           else "One person, one requirement."), "text": rules["separation_rule"]},
            {"warning": False, "headline": f"Failed probes: {rules['override_policy_label']}.",
             "text": rules["override_rule"]},
        ],
        "overrides": [{
            "at": presentation.when(o["at"]), "text": o["text"], "key": o["item"],
            "by": _or(o["by"], "deleted user"),
            "set_to": f"{o['to_status_label']} (was {presentation.label(o['from_status']).lower()})",
            "reason": o["reason"],
            "probe": "The probe found, at the time: " + _or(o["probe_summary"], "no stored probe result"),
            "findings": _findings(o["probe_findings"]),
        } for o in controls["overrides"]],
        "check_params": [[
            presentation.when(ch["at"]), _or(ch["by"], "system"), f"{ch['text']} ({ch['item']}, {ch['check']})",
            canonical_json(ch["before"]), canonical_json(ch["after"]),
        ] for ch in controls.get("check_params", [])],
        "requirement_changes": [[
            presentation.when(ch["at"]), _or(ch["by"], "system"), f"{ch['requirement']} {ch['action']}",
            _requirement_text(ch["before"]), _requirement_text(ch["after"]),
        ] for ch in controls["template_requirement_changes"]],
    }


def _waivers(content: dict) -> list[list[str]]:
    rows = []
    for item in content["items"]:
        for w in item["waivers"]:
            decided = "pending"
            if w["decided_by"]:
                decided = f"{w['decided_by']} {presentation.when(w['decided_at'])}" + (
                    f": {w['decision_comment']}" if w["decision_comment"] else "")
            requested = f"{_or(w['requested_by'], 'deleted user')} {presentation.when(w['requested_at'])}"
            rows.append([item["text"], item["key"], presentation.label(w["state"]), w["justification"], requested,
                         decided, _or(w["expires_on"])])
    return rows


def _item_notes(item: dict) -> list[str]:
    """What the item table prints under an item, only where there is some: its probe and its waivers."""
    notes = []
    probe = item["probe"]
    if probe:
        state = presentation.label(probe["status"]) if probe["status"] else "not run"
        line = (f"Probe {_or(probe['id'])}: {state}"
                + (f", checked {presentation.when(probe['checked_at'])}" if probe["checked_at"] else "")
                + (", REGRESSED" if probe["regressed"] else "") + f" ({probe['results_total']} result(s))")
        notes.append(line)
        for r in probe["results"]:
            notes.append(f"{presentation.when(r['at'])} {presentation.label(r['status'])}: {r['summary']}")
            notes.extend("· " + finding for finding in _findings(r["findings"]))
    for w in item["waivers"]:
        notes.append(f"Waiver {presentation.label(w['state']).lower()}: {w['justification']} · granted by "
                     f"{_or(w['decided_by'])} · expires {_or(w['expires_on'])}")
    return notes


def _item_row(item: dict) -> dict:
    changed = presentation.when(item["changed_at"]) + (f" by {item['changed_by']}" if item["changed_by"] else "")
    attached = [f"{len(item['evidence'])} evidence" if item["evidence"] else "",
                f"{len(item['comments'])} comment(s)" if item["comments"] else ""]
    return {
        "status": item["status"], "status_label": item["status_label"], "text": item["text"],
        "key": item["key"], "attached": " · ".join(x for x in attached if x),
        "severity": f"{presentation.label(item['severity'])}, {'required' if item['required'] else 'optional'}",
        "owner": f"owner {_or(item['owner_team'], 'none')} · assignee {_or(item['assignee'], 'none')}",
        "changed": changed + f" · v{item['version']}" + (
            f" · completed by {item['completed_by']}" if item["completed_by"] else ""),
        "notes": _item_notes(item),
    }


def _items(content: dict) -> list[dict]:
    """The item table's parts: one per top-level section, its sub-sections as rows naming them."""
    parts: list[dict] = []
    for section in sections_with_items(content):
        if section["level"] <= 2 or not parts:
            parts.append({"title": section["title"], "rows": []})
        else:
            parts[-1]["rows"].append({"section": section["title"]})
        parts[-1]["rows"].extend(_item_row(item) for item in section["items"])
    return parts


def _attachments(content: dict) -> list[dict]:
    """Evidence and comments, under their item, for the items that have some."""
    out = []
    for item in content["items"]:
        if not item["evidence"] and not item["comments"]:
            continue
        out.append({
            "status": item["status"], "status_label": item["status_label"], "text": item["text"],
            "key": item["key"],
            "evidence": [{
                "kind": f"Evidence ({presentation.label(e['kind'])})", "name": e["name"],
                "by": _or(e["by"], "system"), "at": presentation.when(e["at"]), "sha256": e["sha256"],
                "note": e["note"] or "",
            } for e in item["evidence"]],
            "comments": [{"author": _or(c["author"], "deleted user"),
                          "at": presentation.when(c["at"]), "body": c["body"]} for c in item["comments"]],
        })
    return out


def _audit(content: dict, labels) -> list[list[str]]:
    return [[str(e["id"]), e["at"], e["actor"], e["action"], e["object"], e["change"], e["hash"]]
            for e in presentation.audit_rows(content, labels)]


def page_data(content: dict, manifest: str, *, generated_by=None, generated_at=None, requested_at=None,
              anchor=None, labels=None) -> dict:
    """Every text the pages show, as the report's template (report.typ) lays it out. `generated_at` is the
    moment of the database the content was read from; `requested_at`, when the report was asked for (it
    was generated later, by a worker). `anchor` is the signed head of the audit chain at that moment;
    `labels` names the audit trail's objects and people (presentation.labels)."""
    release = content["release"]
    return {
        "document": {  # the PDF's metadata and the attachment's description: plain strings, never cut
            "title": f"Sign-off report: {release['service']} {release['version']} ({release['environment']})",
            "description": f"Sign-off report for release #{release['id']}; manifest SHA-256 {manifest}",
            "keywords": ["readiness", "sign-off", f"manifest:{manifest}"],
            "attachment": f"Canonical report content; SHA-256 {manifest}",
        },
        "header": (f"{release['service']} {release['version']} ({release['environment']}) · "
                   f"release #{release['id']} · {release['state_label']}"),
        "manifest": manifest,
        "cover": _cover(content, manifest, generated_by=generated_by, generated_at=generated_at or timezone.now(),
                        requested_at=requested_at, anchor=anchor),
        "progress": _progress(content["progress"]),
        "signoff": _signoff(content),
        "controls": _controls(content.get("controls")),
        "waivers": _waivers(content),
        "items": _items(content),
        "attachments": _attachments(content),
        "audit": _audit(content, labels or presentation.Labels()),
    }


def render_pdf(content: dict, manifest: str, *, generated_by=None, generated_at=None, requested_at=None,
               anchor=None, labels=None) -> bytes:
    """The signed PDF. Takes a second or two for a large release (reports.layout)."""
    data = render_unsigned_pdf(content, manifest, generated_by=generated_by, generated_at=generated_at,
                               requested_at=requested_at, anchor=anchor, labels=labels)
    payload = {
        "schema": SIGNATURE_SCHEMA, "release": content["release"]["id"], "manifest": manifest,
        "pdf_sha256": hashlib.sha256(data).hexdigest(), "pdf_size": len(data),
        "content_as_of": (generated_at or timezone.now()).astimezone(datetime.UTC).isoformat(),
        "signed_at": timezone.now().astimezone(datetime.UTC).replace(microsecond=0).isoformat(),
        "audit_anchor": anchor,
    }
    return seal_pdf(data, signing.seal(payload), metadata={
        METADATA_MANIFEST: manifest, METADATA_RELEASE: str(content["release"]["id"])})


def render_unsigned_pdf(content: dict, manifest: str, **page) -> bytes:
    """The laid-out pages with report.json attached, ending in a line break (the seal follows it)."""
    data = layout(page_data(content, manifest, **page), content_bytes(content))
    return data if data.endswith(b"\n") else data + b"\n"
