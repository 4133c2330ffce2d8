"""Anchors of the audit chain read back from files: an anchor file (JSON lines), a signed PDF report,
an evidence bundle (zip or its folder) or a JSON file holding one anchor. Reports carry anchors, so
reading them lives with the reports; writing and comparing anchors lives in checklists/anchors.py."""
import io
import json
import zipfile
from pathlib import Path

from checklists.anchors import AnchorFileError, FoundAnchor, _from_json, _from_lines
from reports.verify_bundle import read_seal


def _from_pdf(data: bytes, source: str) -> list[FoundAnchor]:
    seal = read_seal(data)
    if seal.envelope is None:
        return []
    return _from_json(seal.envelope, source)


def anchors_read(path: Path) -> list[FoundAnchor]:
    """Anchors from an anchor file (JSON lines), a signed PDF report, an evidence bundle (zip or the
    folder it unpacks to) or a JSON file holding one anchor."""
    if path.is_dir():
        found = []
        for name in ("anchor.json", "report.pdf"):
            if (path / name).is_file():
                found += anchors_read(path / name)
        return found
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AnchorFileError(f"{path} cannot be read ({exc.strerror})") from None
    if data.startswith(b"%PDF"):
        return _from_pdf(data, str(path))
    if data.startswith(b"PK"):
        found = []
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "anchor.json" in names:
                found += _from_lines(archive.read("anchor.json").decode(), f"{path}:anchor.json")
            if "report.pdf" in names:
                found += _from_pdf(archive.read("report.pdf"), f"{path}:report.pdf")
        return found
    try:
        return _from_lines(data.decode("utf-8"), str(path))
    except UnicodeDecodeError:
        raise AnchorFileError(f"{path} is neither an anchor file, a PDF report nor an evidence bundle") from None
