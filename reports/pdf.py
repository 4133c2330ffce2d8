"""The PDF rendering of a report: a Django template through WeasyPrint.

WeasyPrint fetches nothing but our own static files (StaticOnlyFetcher): no file://, no network, so
text a user wrote (an evidence link, a comment) can never make the renderer read a local file or call
a server. The manifest goes into the PDF three times: printed on the cover and in every footer, in the
document information dictionary (`ReadinessManifest`, read by verify_report and verify_bundle.py),
and as the embedded attachment `report.json` whose SHA-256 it is. Then the server signs the manifest
and the SHA-256 of the rendered bytes, and the signature is appended to the PDF (reports/seal.py).
"""
import datetime
import hashlib
import functools
import io
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import timezone

from reports import presentation
from reports.content import content_bytes
from reports.seal import seal_pdf
from readiness import signing

# WeasyPrint is imported when a PDF is made, not with this module: its import (Pango, fonts) costs
# seconds that every process loading the URLconf (a management command, a web worker) would pay.


BASE_URL = "https://report.readiness.invalid/"
# WeasyPrint writes <meta name> keys lower-cased into the document information dictionary.
METADATA_MANIFEST = "readinessmanifest"
METADATA_RELEASE = "readinessrelease"
SIGNATURE_SCHEMA = "readiness.report-signature/1"


@functools.cache
def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        """Serves our static files under STATIC_URL and refuses every other URL."""

        def fetch(self, url, headers=None):
            parts = urlsplit(url)
            base = urlsplit(BASE_URL)
            if (parts.scheme, parts.netloc) != (base.scheme, base.netloc) or not parts.path.startswith(settings.STATIC_URL):
                raise ValueError(f"The report renderer fetches only its own static files, not {url!r}.")
            relative = parts.path[len(settings.STATIC_URL):]
            if ".." in relative.split("/"):
                raise ValueError("No parent paths in static URLs.")
            path = finders.find(relative)
            if path is None and settings.STATIC_ROOT:
                candidate = settings.STATIC_ROOT / relative
                path = str(candidate) if candidate.is_file() else None
            if path is None:
                raise ValueError(f"No static file {relative!r}.")
            with open(path, "rb") as handle:
                body = handle.read()
            mime = "text/css" if relative.endswith(".css") else "application/octet-stream"
            return URLFetcherResponse(url, body, {"Content-Type": mime})

    return StaticOnlyFetcher


def __getattr__(name):
    if name == "StaticOnlyFetcher":  # the fetcher subclasses WeasyPrint's: made on first use
        return _fetcher_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def sections_with_items(content: dict) -> list[dict]:
    """The sections in order, each with its own items, for the template."""
    by_section: dict[str, list] = {}
    for item in content["items"]:
        by_section.setdefault(item["section"], []).append(item)
    return [{**section, "items": by_section.get(section["key"], [])} for section in content["sections"]]


def css_string(text: str) -> str:
    """Text made safe inside a double-quoted CSS string in a <style> element."""
    out = []
    for char in " ".join(text.split()):
        out.append(f"\\{ord(char):x} " if char in '\\"<>&\'' else char)
    return "".join(out)


def render_html(content: dict, manifest: str, *, generated_by=None, generated_at=None, requested_at=None,
                anchor=None, labels=None) -> str:
    """`generated_at` is the moment of the database the content was read from; `requested_at`, when the
    report was asked for (it was generated later, by a worker). `anchor` is the signed head of the audit
    chain at that moment; `labels` names the audit trail's objects and people (presentation.labels)."""
    release = content["release"]
    public = signing.server_public_key()
    return render_to_string("reports/release.html", {
        "c": content, "release": release, "manifest": manifest, "sections": sections_with_items(content),
        "audit_rows": presentation.audit_rows(content, labels or presentation.Labels()),
        "key_id": signing.key_id(public), "public_key": signing.public_b64(public),
        "anchor": (anchor or {}).get("payload"),
        "generated_at": generated_at or timezone.now(), "generated_by": generated_by, "requested_at": requested_at,
        "header_css": css_string(f"{release['service']} {release['version']} ({release['environment']}) · "
                                 f"release #{release['id']} · {release['state_label']}"),
        "metadata_manifest": METADATA_MANIFEST, "metadata_release": METADATA_RELEASE,
    })


def render_pdf(content: dict, manifest: str, *, generated_by=None, generated_at=None, requested_at=None,
               anchor=None, labels=None) -> bytes:
    """The signed PDF. Takes seconds for a large release."""
    data = render_unsigned_pdf(content, manifest, generated_by=generated_by, generated_at=generated_at,
                               requested_at=requested_at, anchor=anchor, labels=labels)
    payload = {
        "schema": SIGNATURE_SCHEMA, "release": content["release"]["id"], "manifest": manifest,
        "pdf_sha256": hashlib.sha256(data).hexdigest(), "pdf_size": len(data),
        "content_as_of": (generated_at or timezone.now()).astimezone(datetime.UTC).isoformat(),
        "signed_at": timezone.now().astimezone(datetime.UTC).replace(microsecond=0).isoformat(),
        "audit_anchor": anchor,
    }
    return seal_pdf(data, signing.seal(payload))


def render_unsigned_pdf(content: dict, manifest: str, *, generated_by=None, generated_at=None, requested_at=None,
                        anchor=None, labels=None) -> bytes:
    # WeasyPrint logs every layout step at INFO; keep its warnings (missing glyphs, refused URLs) only.
    # Set here, not at import: Django's logging setup may run after this module is imported.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    from weasyprint import HTML, Attachment

    fetcher = _fetcher_class()(allowed_protocols=["https"])
    html = render_html(content, manifest, generated_by=generated_by, generated_at=generated_at,
                       requested_at=requested_at, anchor=anchor, labels=labels)
    attachment = Attachment(file_obj=io.BytesIO(content_bytes(content)), name="report.json",
                            description=f"Canonical report content; SHA-256 {manifest}", url_fetcher=fetcher)
    document = HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher)
    return document.write_pdf(attachments=[attachment], custom_metadata=True)
