"""Checking a report: did Readiness issue this PDF, and is what it says still true?

First the file alone (`check_file`, no database): the attached report.json must be there and hash to
the manifest; the PDF must end in the server's seal (reports/seal.py), with nothing changed
or added after it; the bytes before the seal must have the SHA-256 the signature names, so no page,
font or attachment was edited; and the signature must verify under a trusted key (the server's own,
or the public key given to verify_report). Then, with the database (`verify_pdf`): the manifest is
recomputed from the release, the audit chain is walked, the report's own anchor of the chain must
still be in it, and what changed since is listed. A report issued before signing has no seal: it is
accepted, with a warning, only when its bytes are those of a report the server archived.
"""
import base64
import hashlib
import io
import json
import re
from dataclasses import dataclass, field

from pypdf import PdfReader

from checklists import anchors
from checklists.audit import verify_chain
from checklists.models import Release, Report
from reports import content as report_content
from reports.pdf import METADATA_MANIFEST, METADATA_RELEASE
from reports.verify_bundle import SIGNATURE_KEY, Seal, read_seal
from readiness import signing

_PRINTED_MANIFEST = re.compile(r"Manifest SHA-256.{0,120}?\b([0-9a-f]{64})\b", re.S)
_PRINTED_RELEASE = re.compile(r"Release\s*#(\d+)")
MAX_CHANGES = 200
UNSIGNED = "unsigned (issued before signing)"


class ReportFileError(ValueError):
    """The file is not a Readiness report, or is damaged."""


@dataclass
class FileCheck:
    """What the PDF proves by itself. `problems` name the failed check first ("attachment: ...")."""
    manifest: str
    release_id: int
    sha256: str  # of the whole file: an archived report is found by it
    content: dict | None  # the attached report.json, when it matches the manifest
    seal: Seal
    source: str  # where the manifest was read: "signature", "metadata" or "text"
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def signed(self) -> bool:
        return self.seal.envelope is not None

    @property
    def failed_checks(self) -> list[str]:
        return list(dict.fromkeys(problem.split(":", 1)[0] for problem in self.problems))


@dataclass
class Verification:
    file: FileCheck
    archived: Report | None = None
    current_manifest: str | None = None  # None: not compared (offline)
    chain_ok: bool = True
    chain_message: str = ""
    anchor_problems: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)

    @property
    def claims(self) -> FileCheck:
        return self.file

    @property
    def authentic(self) -> bool:
        return not self.file.problems

    @property
    def current(self) -> bool:
        return self.current_manifest is None or self.file.manifest == self.current_manifest

    @property
    def ok(self) -> bool:
        return self.authentic and self.current and self.chain_ok and not self.anchor_problems


def trusted_keys(public_key_texts: list[str] | None = None) -> list:
    """The keys a signature may be made with: those given, else the server's own."""
    if public_key_texts:
        return [signing.load_public_key(text) for text in public_key_texts]
    return [signing.server_public_key()]


def _decode_block(text: str) -> dict | None:
    try:
        envelope = json.loads(base64.b64decode(text))
    except ValueError:
        return None
    return envelope if isinstance(envelope, dict) and isinstance(envelope.get("payload"), dict) else None


def check_file(data: bytes, trusted: list) -> FileCheck:
    """The checks that need no database. Raises ReportFileError for a file that is no report at all."""
    try:
        reader = PdfReader(io.BytesIO(data))
        info = reader.metadata or {}
        attachments = reader.attachments or {}
    except Exception as exc:
        raise ReportFileError(f"not a readable PDF ({exc})") from None
    seal = read_seal(data)
    if seal.envelope is None and info.get(f"/{SIGNATURE_KEY}"):
        # Re-saved by another tool: the block survives in the metadata, the seal around it does not.
        seal = Seal(_decode_block(str(info[f"/{SIGNATURE_KEY}"])), [
            "seal: the signature is not stored as Readiness stores it (the PDF was re-saved or edited after it "
            "was signed)"])
        if seal.envelope is None:
            seal.problems = ["signature: the signature block cannot be read"]
    meta_manifest = str(info.get(f"/{METADATA_MANIFEST}") or "").strip()
    meta_release = str(info.get(f"/{METADATA_RELEASE}") or "").strip()
    payload = seal.payload
    if seal.envelope is not None and re.fullmatch(r"[0-9a-f]{64}", str(payload.get("manifest", ""))):
        manifest, release_id, source = payload["manifest"], str(payload.get("release", "")), "signature"
    elif re.fullmatch(r"[0-9a-f]{64}", meta_manifest) and meta_release.isdigit():
        manifest, release_id, source = meta_manifest, meta_release, "metadata"
    else:
        text = "\n".join(page.extract_text() or "" for page in reader.pages[:2])
        found, rel = _PRINTED_MANIFEST.search(text), _PRINTED_RELEASE.search(text)
        if not found or not rel:
            raise ReportFileError("no Readiness manifest found in the PDF's signature, metadata or text")
        manifest, release_id, source = found.group(1), rel.group(1), "text"
    if not release_id.isdigit():
        raise ReportFileError("the PDF names no release")
    result = FileCheck(manifest, int(release_id), hashlib.sha256(data).hexdigest(), None, seal, source)
    problems = result.problems

    attachment = attachments.get("report.json")
    if not attachment:
        problems.append("attachment: the PDF carries no report.json, the canonical content its manifest is the "
                        "SHA-256 of: Readiness attaches it to every report")
    else:
        digest = hashlib.sha256(attachment[0]).hexdigest()
        if digest != manifest:
            problems.append(f"attachment: report.json has SHA-256 {digest}, but the PDF names manifest {manifest}: "
                            f"the attachment or the manifest was edited")
        else:
            result.content = json.loads(attachment[0])
            if result.content.get("release", {}).get("id") != result.release_id:
                problems.append(f"attachment: report.json describes release "
                                f"#{result.content.get('release', {}).get('id')}, the PDF names #{result.release_id}")

    if seal.envelope is not None:
        problems.extend(seal.problems)
        bad = signing.check(seal.envelope, trusted)
        if bad:
            problems.append(f"signature: {bad}")
        if meta_manifest and meta_manifest != manifest:
            problems.append(f"metadata: the PDF's metadata names manifest {meta_manifest}, its signature {manifest}")
        if meta_release and meta_release != release_id:
            problems.append(f"metadata: the PDF's metadata names release #{meta_release}, its signature #{release_id}")
    elif seal.problems:
        problems.extend(seal.problems)
    return result


def verify_pdf(data: bytes, *, public_keys: list[str] | None = None, offline: bool = False) -> Verification:
    """All checks. Offline: the file's own (signature, seal, attachment) only, no query at all."""
    trusted = trusted_keys(public_keys)
    file = check_file(data, trusted)
    result = Verification(file)
    if offline:
        if not file.signed:
            file.problems.append(f"signature: the PDF is {UNSIGNED}, and only the server's archive can vouch for "
                                 f"such a report: run verify_report without --offline")
        return result
    result.archived = Report.objects.filter(file_sha256=file.sha256, format="pdf").order_by("pk").first()
    if not file.signed:
        if result.archived is not None:
            file.warnings.append(f"{UNSIGNED}: its bytes are those of archived report #{result.archived.pk}, "
                                 f"generated {result.archived.finished_at:%Y-%m-%d %H:%M:%S %Z}")
        else:
            file.problems.append(f"signature: the PDF is unsigned and no archived report has these bytes: "
                                 f"Readiness did not issue this file as it is")
    release = Release.objects.filter(pk=file.release_id).first()
    if release is None:
        raise ReportFileError(f"release #{file.release_id} named by the report does not exist")
    current = _current_content(release, file)
    result.current_manifest = report_content.manifest_of(current)
    chain = verify_chain()
    result.chain_ok = chain.ok
    result.chain_message = (f"audit chain intact ({chain.checked} events)" if chain.ok
                            else f"audit chain broken at event #{chain.broken_at}: {chain.reason}")
    anchor = file.seal.payload.get("audit_anchor") if file.signed else None
    if anchor and chain.ok:
        found = [anchors.FoundAnchor(anchor, "this report")]
        result.anchor_problems = anchors.anchors_compare(chain, found, trusted).problems
    if file.manifest != result.current_manifest:
        if file.content is not None:
            result.changes = diff(file.content, current)
        else:
            result.changes = ["the report's own content is not available (no matching attachment), so only the "
                              "manifests can be compared"]
    return result


def _current_content(release: Release, file: FileCheck) -> dict:
    """The release as it is, in the schema of the report being checked: a report issued before a key was
    added is compared with what its own schema describes, so the new key alone is no change. When the
    report carries no readable content, its manifest may still be that of an older schema's rendering."""
    schema = (file.content or {}).get("schema")
    if schema in report_content.SCHEMAS:
        return report_content.build(release, schema=schema)
    current = report_content.build(release)
    if file.content is None and file.manifest != report_content.manifest_of(current):
        for older in report_content.SCHEMAS[:-1]:
            content = report_content.build(release, schema=older)
            if report_content.manifest_of(content) == file.manifest:
                return content
    return current


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
