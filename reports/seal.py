"""Sealing a rendered PDF: the server's signature appended as one incremental update.

The renderer's bytes (pages, fonts, the attached report.json) are kept as they are; after them comes a
new document information dictionary holding the signature block (`/readinesssignature`, the base64
of its JSON) and a cross-reference stream naming that dictionary alone. The signature covers the
manifest, the SHA-256 and length of the renderer's bytes, the release and an anchor of the audit
chain: change one byte of the pages or add anything after the seal and `read_seal`
(reports/verify_bundle.py) says so. The rendered PDF may end in a cross-reference table (Typst) or
stream (WeasyPrint, before): the update's stream points back to either.
"""
import base64
import io
import json
import re

from pypdf import PdfReader

from reports.verify_bundle import SIGNATURE_KEY

_NAME = re.compile(r"/[A-Za-z0-9.]+")


def _hex_string(value: str) -> bytes:
    return b"<FEFF" + value.encode("utf-16-be").hex().upper().encode() + b">"


def seal_pdf(data: bytes, envelope: dict, metadata: dict[str, str] | None = None) -> bytes:
    """`data` followed by the update that carries `envelope`. The entries of the PDF's own document
    information dictionary are copied into the new one (readers show only the newest), with `metadata`'s
    (names without the slash) added: verify_report compares them with the signature."""
    reader = PdfReader(io.BytesIO(data))
    trailer = reader.trailer
    size = int(trailer["/Size"])
    root = trailer.raw_get("/Root").idnum
    prev = int(re.search(rb"startxref\r?\n(\d+)\r?\n%%EOF\r?\n?\Z", data).group(1))
    entries = b""
    names = dict(reader.metadata or {})
    names.update({f"/{name}": value for name, value in (metadata or {}).items()})
    for name, value in sorted(names.items()):
        if _NAME.fullmatch(name) and name != f"/{SIGNATURE_KEY}":
            entries += name.encode() + b" " + _hex_string(str(value))
    block = base64.b64encode(json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode())
    entries += f"/{SIGNATURE_KEY} (".encode() + block + b")"
    info_at = len(data)
    info = f"{size} 0 obj\n<<".encode() + entries + b">>\nendobj\n"
    xref_at = info_at + len(info)
    table = b"\x01" + info_at.to_bytes(4, "big") + b"\x00\x00" + b"\x01" + xref_at.to_bytes(4, "big") + b"\x00\x00"
    xref = (f"{size + 1} 0 obj\n<</Type /XRef/Size {size + 2}/Index [{size} 2]/W [1 4 2]/Root {root} 0 R"
            f"/Info {size} 0 R/Prev {prev}/Length 14>>\nstream\n").encode() + table + \
        f"\nendstream\nendobj\nstartxref\n{xref_at}\n%%EOF\n".encode()
    return data + info + xref
