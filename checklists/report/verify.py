"""Checking a report against the database: is what it says still true?

The PDF names its manifest (document information `ReadinessManifest`, falling back to the printed
"Manifest SHA-256" line) and carries its canonical content as the attachment report.json. The check
recomputes the content from the database, compares manifests, and, when they differ, lists what
changed between the report's content and today's.
"""
import hashlib
import io
import json
import re
from dataclasses import dataclass, field

from pypdf import PdfReader

from checklists.audit import verify_chain
from checklists.models import Release
from checklists.report import content as report_content
from checklists.report.pdf import METADATA_MANIFEST, METADATA_RELEASE

_PRINTED_MANIFEST = re.compile(r"Manifest SHA-256.{0,120}?\b([0-9a-f]{64})\b", re.S)
_PRINTED_RELEASE = re.compile(r"Release\s*#(\d+)")
MAX_CHANGES = 200


class ReportFileError(ValueError):
    """The file is not a Readiness report, or is damaged."""


@dataclass
class PdfClaims:
    manifest: str
    release_id: int
    content: dict | None  # the embedded report.json, when present and matching the manifest
    source: str  # where the manifest was read: "metadata" or "text"
    embedded_matches: bool | None = None


@dataclass
class Verification:
    claims: PdfClaims
    current_manifest: str
    chain_ok: bool
    chain_message: str
    changes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.claims.manifest == self.current_manifest and self.chain_ok and self.claims.embedded_matches is not False


def read_pdf(data: bytes) -> PdfClaims:
    try:
        reader = PdfReader(io.BytesIO(data))
        info = reader.metadata or {}
    except Exception as exc:
        raise ReportFileError(f"not a readable PDF ({exc})") from None
    manifest = str(info.get(f"/{METADATA_MANIFEST}") or "").strip()
    release_id = str(info.get(f"/{METADATA_RELEASE}") or "").strip()
    source = "metadata"
    if not re.fullmatch(r"[0-9a-f]{64}", manifest) or not release_id.isdigit():
        text = "\n".join(page.extract_text() or "" for page in reader.pages[:2])
        found, rel = _PRINTED_MANIFEST.search(text), _PRINTED_RELEASE.search(text)
        if not found or not rel:
            raise ReportFileError("no Readiness manifest found in the PDF's metadata or text")
        manifest, release_id, source = found.group(1), rel.group(1), "text"
    embedded, matches = None, None
    attachment = (reader.attachments or {}).get("report.json")
    if attachment:
        raw = attachment[0]
        matches = hashlib.sha256(raw).hexdigest() == manifest
        embedded = json.loads(raw) if matches else None
    return PdfClaims(manifest=manifest, release_id=int(release_id), content=embedded, source=source,
                     embedded_matches=matches)


def verify_pdf(data: bytes) -> Verification:
    claims = read_pdf(data)
    release = Release.objects.filter(pk=claims.release_id).first()
    if release is None:
        raise ReportFileError(f"release #{claims.release_id} named by the report does not exist")
    current = report_content.build(release)
    current_manifest = report_content.manifest_of(current)
    chain = verify_chain()
    chain_message = (f"audit chain intact ({chain.checked} events)" if chain.ok
                     else f"audit chain broken at event #{chain.broken_at}: {chain.reason}")
    result = Verification(claims, current_manifest, chain.ok, chain_message)
    if claims.manifest != current_manifest:
        if claims.content is not None:
            result.changes = diff(claims.content, current)
        else:
            result.changes = ["the report's own content is not available (no matching attachment), so only the "
                              "manifests can be compared"]
    return result


def _index(items: list) -> dict | None:
    """Lists of objects keyed by "key" or "id" are compared by key, not by position."""
    for name in ("key", "id"):
        if items and all(isinstance(x, dict) and name in x for x in items):
            return {str(x[name]): x for x in items}
    return None


def diff(old, new, path: str = "") -> list[str]:
    changes: list[str] = []
    _diff(old, new, path, changes)
    if len(changes) > MAX_CHANGES:
        changes = changes[:MAX_CHANGES] + [f"... and {len(changes) - MAX_CHANGES} more change(s)"]
    return changes


def _short(value) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


def _diff(old, new, path: str, out: list[str]) -> None:
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in old:
                out.append(f"{sub}: added {_short(new[key])}")
            elif key not in new:
                out.append(f"{sub}: removed (was {_short(old[key])})")
            else:
                _diff(old[key], new[key], sub, out)
        return
    if isinstance(old, list) and isinstance(new, list):
        old_index, new_index = _index(old), _index(new)
        if old_index is not None and new_index is not None:
            for key in list(old_index) + [k for k in new_index if k not in old_index]:
                sub = f"{path}[{key}]"
                if key not in new_index:
                    out.append(f"{sub}: removed")
                elif key not in old_index:
                    out.append(f"{sub}: added")
                else:
                    _diff(old_index[key], new_index[key], sub, out)
            return
    out.append(f"{path}: {_short(old)} → {_short(new)}")
