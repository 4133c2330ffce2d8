#!/usr/bin/env python3
"""Verify a Readiness evidence bundle offline, with nothing but the Python standard library.

    python verify_bundle.py [BUNDLE_DIR] [--public-key FILE]   (default: the folder this script is in)

Checks, and exits 0 only if all hold:
1. report.pdf is sealed: its last bytes are exactly the signature block Readiness appended, nothing
   was added or changed after it, and the bytes before it have the SHA-256 the signature names (so
   the pages, their text and the attached report.json are the ones the server rendered);
2. the signature verifies under the server's Ed25519 public key: the one given with --public-key
   (get it with `manage.py signing_key --public` or from the README of the installation), else the
   bundle's signing-key.pem, whose key id is printed so it can be compared with the published one.
   Ed25519 is not in the standard library: the signature is checked when the `cryptography` package
   is importable; otherwise the script says "signature not checked: install cryptography";
3. the manifest the signature names equals manifest.sha256 and the SHA-256 of report.json: the JSON
   is exactly the content the PDF vouches for;
4. every evidence file recorded in report.json is in the bundle and its SHA-256 equals the hash the
   JSON recorded when it was uploaded; and no unlisted file hides in evidence/;
5. anchor.json, the audit chain's head when the bundle was made, is signed by the same key (give it
   to `manage.py verify_audit --anchor` to prove no event was cut from the chain since).
A report issued before reports were signed has no seal: check 1-2 are reported as "unsigned" and the
manifest is read from the PDF's metadata instead.

The functions read_seal and check_envelope are also what `manage.py verify_report` uses, so the
offline and online verdicts cannot disagree.
"""
import base64
import hashlib
import json
import re
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path

KEY = b"/readinessmanifest"  # lower-case, as WeasyPrint wrote <meta> names
SIGNATURE_KEY = "readinesssignature"
_LITERAL = re.compile(re.escape(KEY) + rb"\s*\(([0-9a-f]{64})\)")
_HEX = re.compile(re.escape(KEY) + rb"\s*<([0-9A-Fa-f\s]+)>")
_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)
# The seal: one incremental update holding a new document information dictionary (hex strings, and
# the signature block as a base64 literal) and the cross-reference stream naming it. Nothing else may
# follow it, and it may name no other object: the pages are all in the signed bytes before it.
_ENTRY = rb"/[A-Za-z0-9.]+ (?:<[0-9A-F]*>|\([A-Za-z0-9+/=]*\))"
_SEAL = re.compile(
    rb"(?P<info>\d+) 0 obj\n<<(?P<entries>(?:" + _ENTRY + rb")+)>>\nendobj\n"
    rb"(?P<xref>\d+) 0 obj\n<</Type /XRef/Size (?P<size>\d+)/Index \[(?P<first>\d+) 2\]/W \[1 4 2\]"
    rb"/Root (?P<root>\d+) 0 R/Info (?P<info_ref>\d+) 0 R/Prev (?P<prev>\d+)/Length 14>>\nstream\n"
    rb"(?P<table>.{14})\nendstream\nendobj\nstartxref\n(?P<startxref>\d+)\n%%EOF\n", re.S)
_BASE_END = re.compile(rb"startxref\r?\n(\d+)\r?\n%%EOF\r?\n?\Z")
_BASE_TRAILER = re.compile(rb"/Size (\d+)|/Root (\d+) 0 R")


def canonical(payload) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class Seal:
    envelope: dict | None = None  # the signature block, when the PDF carries one
    problems: list = field(default_factory=list)  # why the seal does not hold, each naming the check

    @property
    def payload(self) -> dict:
        return (self.envelope or {}).get("payload") or {}


def read_seal(data: bytes) -> Seal:
    """The signature block appended to a PDF, and whether the bytes around it are the ones signed."""
    marker_bytes = b"/" + SIGNATURE_KEY.encode() + b" ("
    markers, at = [], data.find(marker_bytes)
    while at >= 0:
        markers.append(at)
        at = data.find(marker_bytes, at + 1)
    if not markers:
        return Seal()
    for marker in markers:  # the seal as Readiness wrote it, wherever it is now
        start = data.rfind(b" 0 obj\n<<", 0, marker)
        while start > 0 and data[start - 1:start].isdigit():
            start -= 1
        match = _SEAL.match(data, start) if start >= 0 else None
        if match is not None and match.start("entries") <= marker < match.end("entries"):
            break
    else:
        match = None
    if match is None:
        seal = Seal(_envelope_at(data, markers[-1]))
        seal.problems.append("seal: the signature is not stored as Readiness stores it (the PDF was re-saved or "
                             "edited after it was signed)" if seal.envelope is not None
                             else "signature: the signature block cannot be read")
        return seal
    seal = Seal(_envelope_at(data, marker))
    if seal.envelope is None:
        return Seal(problems=["signature: the signature block cannot be read"])
    payload = seal.payload
    size, digest = payload.get("pdf_size"), payload.get("pdf_sha256")
    if match.end() != len(data):
        seal.problems.append("seal: bytes were added or changed after the signature (the PDF was edited or "
                             "re-saved after it was signed)")
    elif start != size:
        seal.problems.append(f"seal: the signature covers the first {size} bytes, but the signed part ends at "
                             f"byte {start}: the PDF was edited")
    else:
        _check_update(data, match, seal.problems)
    if not isinstance(size, int) or hashlib.sha256(data[:size]).hexdigest() != digest:
        seal.problems.append("content hash: the PDF's pages and attachment do not have the SHA-256 the signature "
                             "names: the PDF was edited after it was signed")
    return seal


def _envelope_at(data: bytes, marker: int):
    literal = re.match(rb"/" + SIGNATURE_KEY.encode() + rb" \(([A-Za-z0-9+/=]*)\)", data[marker:marker + 65536])
    try:
        envelope = json.loads(base64.b64decode(literal.group(1)))
    except (AttributeError, ValueError):
        return None
    return envelope if isinstance(envelope, dict) and isinstance(envelope.get("payload"), dict) else None


def _base_trailer(data: bytes, start: int, base_end) -> bytes:
    """The trailer of the PDF the seal follows: after its cross-reference table (Typst writes one), or
    the dictionary of its cross-reference stream (reports laid out by WeasyPrint end in one)."""
    if base_end is None:
        return b""
    xref_at = int(base_end.group(1))
    if data.startswith(b"xref", xref_at):
        at = data.find(b"trailer", xref_at, start)
    else:
        at = data.rfind(b"/Type /XRef", 0, start)
    return data[at:min(at + 2048, start)] if at >= 0 else b""


def _check_update(data: bytes, match, problems: list) -> None:
    start = match.start()
    base_end = _BASE_END.search(data[max(0, start - 64):start])
    trailer = _base_trailer(data, start, base_end)
    sizes = [int(m.group(1)) for m in _BASE_TRAILER.finditer(trailer) if m.group(1)]
    roots = [int(m.group(2)) for m in _BASE_TRAILER.finditer(trailer) if m.group(2)]
    info, xref = int(match["info"]), int(match["xref"])
    table = match["table"]
    expected_table = (b"\x01" + start.to_bytes(4, "big") + b"\x00\x00" + b"\x01"
                      + match.start("xref").to_bytes(4, "big") + b"\x00\x00")
    if (base_end is None or not sizes or not roots or int(match["prev"]) != int(base_end.group(1))
            or int(match["root"]) != roots[-1] or info != sizes[-1] or xref != info + 1
            or int(match["first"]) != info or int(match["info_ref"]) != info or int(match["size"]) != info + 2
            or table != expected_table or int(match["startxref"]) != match.start("xref")):
        problems.append("seal: the update holding the signature names other objects than the signature "
                        "(the PDF was edited after it was signed)")


def check_envelope(envelope, public_keys_raw: list) -> str | None:
    """None when the envelope is signed by one of the keys (raw 32 bytes each); else what is wrong.
    Raises ImportError when `cryptography` is not installed."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    by_id = {hashlib.sha256(raw).hexdigest()[:16]: raw for raw in public_keys_raw}
    claimed = str(envelope.get("key_id", ""))
    if claimed not in by_id:
        return f"signed by another key (key id {claimed or 'missing'}; trusted key id {', '.join(by_id)})"
    try:
        Ed25519PublicKey.from_public_bytes(by_id[claimed]).verify(
            base64.b64decode(str(envelope.get("signature", ""))), canonical(envelope.get("payload")))
    except (InvalidSignature, ValueError):
        return f"the signature does not verify under key {claimed}: the signed content was altered"
    return None


def public_key_raw(text: str) -> bytes:
    """A public key file: PEM (SubjectPublicKeyInfo, as `manage.py signing_key --public` prints it) or
    the base64 of the raw 32 bytes."""
    body = "".join(line for line in text.strip().splitlines() if not line.startswith("-----"))
    raw = base64.b64decode(body)
    if len(raw) == 44 and raw[:12] == bytes.fromhex("302a300506032b6570032100"):  # Ed25519 SPKI prefix
        raw = raw[12:]
    if len(raw) != 32:
        raise ValueError("not an Ed25519 public key")
    return raw


def _find(data: bytes):
    match = _LITERAL.search(data)
    if match:
        return match.group(1).decode()
    match = _HEX.search(data)
    if match:
        raw = bytes.fromhex(re.sub(rb"\s", b"", match.group(1)).decode())
        text = raw[2:].decode("utf-16-be") if raw[:2] == b"\xfe\xff" else raw.decode("latin-1")
        if re.fullmatch(r"[0-9a-f]{64}", text):
            return text
    return None


def manifest_from_pdf(pdf: bytes):
    """The readinessmanifest entry, from the PDF bytes or from inside its compressed object streams."""
    found = _find(pdf)
    if found:
        return found
    for match in _STREAM.finditer(pdf):
        try:
            found = _find(zlib.decompress(match.group(1)))
        except zlib.error:
            continue
        if found:
            return found
    return None


def _signatures(folder: Path, pdf: bytes, key_file, problems: list, notes: list):
    """Checks 1, 2 and 5; returns the manifest the PDF vouches for (None when it names none)."""
    seal = read_seal(pdf)
    problems.extend(seal.problems)
    if seal.envelope is None:
        notes.append("WARNING: report.pdf is unsigned (issued before signing): check it with "
                     "`manage.py verify_report` against the server's archive")
        return manifest_from_pdf(pdf)
    key_path = Path(key_file) if key_file else folder / "signing-key.pem"
    try:
        keys = [public_key_raw(key_path.read_text())]
    except (OSError, ValueError) as exc:
        problems.append(f"signature: no usable public key in {key_path} ({exc})")
        keys = []
    key_ids = [hashlib.sha256(raw).hexdigest()[:16] for raw in keys]
    envelopes = [("report.pdf", seal.envelope)]
    if (folder / "anchor.json").is_file():
        envelopes.append(("anchor.json", json.loads((folder / "anchor.json").read_text(encoding="utf-8"))))
    try:
        for name, envelope in envelopes:
            if keys:
                bad = check_envelope(envelope, keys)
                if bad:
                    problems.append(f"signature of {name}: {bad}")
                else:
                    notes.append(f"{name} is signed by key {key_ids[0]}" +
                                 ("" if key_file else " (the bundle's signing-key.pem: compare this key id with "
                                                      "the one the server publishes)"))
    except ImportError:
        notes.append("WARNING: signature not checked: install cryptography (pip install cryptography) to check "
                     "the Ed25519 signatures of report.pdf and anchor.json")
    if not seal.problems:
        notes.append(f"report.pdf is sealed: its {seal.payload.get('pdf_size')} signed bytes are unchanged")
    return seal.payload.get("manifest")


def main(folder: Path, key_file=None) -> int:
    problems, notes = [], []
    recorded = (folder / "manifest.sha256").read_text().split()[0].strip()
    from_pdf = _signatures(folder, (folder / "report.pdf").read_bytes(), key_file, problems, notes)
    if from_pdf is None:
        notes.append("SKIPPED: could not read the manifest from report.pdf; compare manifest.sha256 with the "
                     "value printed on the report's cover")
    elif from_pdf != recorded:
        problems.append(f"report.pdf names manifest {from_pdf}, manifest.sha256 says {recorded}")
    else:
        notes.append(f"report.pdf manifest {from_pdf} matches manifest.sha256")
    json_hash = sha256_of(folder / "report.json")
    expected = from_pdf or recorded
    if json_hash != expected:
        problems.append(f"report.json has SHA-256 {json_hash}, the manifest is {expected}")
    else:
        notes.append("report.json matches the manifest")

    content = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    listed = json.loads((folder / "files.json").read_text(encoding="utf-8"))
    path_of = {entry["evidence_id"]: entry["path"] for entry in listed}
    checked = 0
    for item in content["items"]:
        for evidence in item["evidence"]:
            if not evidence.get("has_file"):
                continue
            path = path_of.get(evidence["id"])
            if path is None or not (folder / path).is_file():
                problems.append(f"evidence #{evidence['id']} ({evidence['name']}) of {item['key']} is missing")
                continue
            actual = sha256_of(folder / path)
            if actual != evidence["sha256"]:
                problems.append(f"{path}: SHA-256 {actual}, recorded {evidence['sha256']}")
            checked += 1
    expected_paths = set(path_of.values())
    evidence_dir = folder / "evidence"
    if evidence_dir.is_dir():
        for path in sorted(evidence_dir.rglob("*")):
            relative = path.relative_to(folder).as_posix()
            if path.is_file() and relative not in expected_paths:
                problems.append(f"{relative} is not evidence recorded in report.json")
    notes.append(f"{checked} evidence file(s) checked")

    for line in notes:
        print(line)
    if problems:
        print("FAILED:")
        for line in problems:
            print(f"  {line}")
        return 1
    print(f"OK: release #{content['release']['id']} ({content['release']['service']} "
          f"{content['release']['version']}), manifest {expected}")
    return 0


def _args(argv: list) -> tuple:
    folder, key_file = None, None
    rest = list(argv)
    while rest:
        arg = rest.pop(0)
        if arg in ("-h", "--help"):
            print(__doc__)
            sys.exit(0)
        if arg == "--public-key" and rest:
            key_file = rest.pop(0)
        elif arg.startswith("--public-key="):
            key_file = arg.split("=", 1)[1]
        else:
            folder = Path(arg)
    return folder or Path(__file__).resolve().parent, key_file


if __name__ == "__main__":
    sys.exit(main(*_args(sys.argv[1:])))
