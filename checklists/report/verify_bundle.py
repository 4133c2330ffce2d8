#!/usr/bin/env python3
"""Verify a Readiness evidence bundle offline, with nothing but the Python standard library.

    python verify_bundle.py [BUNDLE_DIR]     (default: the folder this script is in)

Checks, and exits 0 only if all hold:
1. the manifest SHA-256 recorded in report.pdf (its document information entry readinessmanifest,
   read by scanning the PDF and inflating its compressed streams with zlib) equals manifest.sha256;
2. the SHA-256 of report.json equals that manifest: the JSON is exactly the content the PDF vouches for;
3. every evidence file recorded in report.json is in the bundle and its SHA-256 equals the hash the
   JSON recorded when it was uploaded; and no unlisted file hides in evidence/.
If the PDF's manifest cannot be read (a PDF re-saved by another tool), check 1 is reported as skipped
and report.json is checked against manifest.sha256 alone: compare that value with the one printed on
the report's cover by eye.
"""
import hashlib
import json
import re
import sys
import zlib
from pathlib import Path

KEY = b"/readinessmanifest"  # WeasyPrint lower-cases <meta> names
_LITERAL = re.compile(re.escape(KEY) + rb"\s*\(([0-9a-f]{64})\)")
_HEX = re.compile(re.escape(KEY) + rb"\s*<([0-9A-Fa-f\s]+)>")
_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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


def main(folder: Path) -> int:
    problems, notes = [], []
    recorded = (folder / "manifest.sha256").read_text().split()[0].strip()
    from_pdf = manifest_from_pdf((folder / "report.pdf").read_bytes())
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


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent))
