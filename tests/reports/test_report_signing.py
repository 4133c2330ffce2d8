"""Issue 9 §6: a report is signed by the server and verify_report checks the PDF itself, not only the
manifest in its metadata. Each forgery is built for real (pypdf), then fed to the command."""
import base64
import hashlib
import importlib
import io
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ByteStringObject, ContentStream, NameObject, TextStringObject

from checklists.models import Report
from reports import content as report_content
from reports import verify_bundle as reports_verify_bundle
from reports.seal import seal_pdf
from reports.verify import check_file
from reports.verify_bundle import read_seal
from checklists.services import items as item_services
from checklists.services import comments as comment_services
from readiness import signing

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued(release, people, tmp_path):
    """A release with some history and its PDF report, exported as the command line does."""
    item = release.items.order_by("order").first()
    item_services.item_set_status(item=item, status="done", by=people["engineer"], expected_version=1)
    comment_services.comment_add(item=item, body="Checked on the console.", by=people["engineer"])
    path = tmp_path / "report.pdf"
    call_command("export_report", release.pk, "--format", "pdf", "-o", str(path), stdout=io.StringIO())
    return path


@pytest.fixture
def public_key_file(tmp_path):
    path = tmp_path / "readiness.pub.pem"
    path.write_text(signing.public_pem(signing.server_public_key()))
    return path


def verify(path, *args):
    """verify_report's output, and the CommandError it raised (None when it exited 0)."""
    out = io.StringIO()
    try:
        call_command("verify_report", str(path), *args, stdout=out)
    except CommandError as error:
        return out.getvalue(), str(error)
    return out.getvalue(), None


def write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_a_generated_report_is_signed_archived_by_hash_and_names_its_key(issued, release, people):
    data = issued.read_bytes()
    seal = read_seal(data)
    assert seal.problems == [] and seal.envelope is not None
    payload = seal.payload
    report = Report.objects.get(release=release, format="pdf")
    assert report.file_sha256 == hashlib.sha256(data).hexdigest()
    assert payload["manifest"] == report.manifest_sha256 == report_content.manifest_of(report_content.build(release))
    assert payload["pdf_sha256"] == hashlib.sha256(data[:payload["pdf_size"]]).hexdigest()
    assert payload["audit_anchor"]["payload"]["event_id"] > 0
    assert signing.check(seal.envelope, [signing.server_public_key()]) is None
    key_id = signing.key_id(signing.server_public_key())
    text = " ".join("\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages[:1]).split())
    assert key_id in text and signing.public_b64(signing.server_public_key()) in text.replace(" ", "")
    assert PdfReader(io.BytesIO(data)).metadata["/readinessmanifest"] == report.manifest_sha256
    out, error = verify(issued)
    assert error is None, out
    assert f"by key {key_id}" in out and f"archived report #{report.pk}" in out and "MATCH" in out


def test_offline_verification_needs_only_the_public_key(issued, public_key_file, django_assert_num_queries):
    with django_assert_num_queries(0):
        out, error = verify(issued, "--offline", "--public-key", str(public_key_file))
    assert error is None, out
    assert "AUTHENTIC" in out


def test_the_forged_one_page_pdf_of_the_issue_is_refused(issued, release, tmp_path):
    manifest = report_content.manifest_of(report_content.build(release))
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/readinessmanifest": manifest, "/readinessrelease": str(release.pk),
                         "/Title": "every item done, all approved"})
    buffer = io.BytesIO()
    writer.write(buffer)
    forged = write(tmp_path, "forged.pdf", buffer.getvalue())
    out, error = verify(forged)
    assert error is not None and error.startswith("REFUSED")
    assert "attachment" in error and "signature" in error
    assert "FAILED attachment: the PDF carries no report.json" in out
    assert "FAILED signature: the PDF is unsigned and no archived report has these bytes" in out
    assert "MATCH" not in out


def _rewritten(data: bytes, edit) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    edit(writer)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_a_pdf_without_its_attachment_is_refused(issued, tmp_path):
    def drop_attachment(writer):
        del writer._root_object["/Names"][NameObject("/EmbeddedFiles")]

    stripped = _rewritten(issued.read_bytes(), drop_attachment)
    assert "report.json" not in PdfReader(io.BytesIO(stripped)).attachments
    out, error = verify(write(tmp_path, "stripped.pdf", stripped))
    assert error is not None and "attachment" in error
    assert "FAILED attachment: the PDF carries no report.json" in out


def test_a_pdf_whose_attachment_was_edited_is_refused(issued, tmp_path):
    data = issued.read_bytes()
    original = PdfReader(io.BytesIO(data)).attachments["report.json"][0]
    edited = original.replace(b'"status":"open"', b'"status":"done"')
    assert edited != original
    forged_manifest = hashlib.sha256(edited).hexdigest()

    def swap_attachment(writer):
        del writer._root_object["/Names"][NameObject("/EmbeddedFiles")]
        writer.add_attachment("report.json", edited)
        writer.add_metadata({"/readinessmanifest": forged_manifest})  # and the metadata to match

    out, error = verify(write(tmp_path, "edited.pdf", _rewritten(data, swap_attachment)))
    assert error is not None and "attachment" in error
    assert "FAILED attachment: report.json has SHA-256 " + forged_manifest in out


def test_a_pdf_whose_text_was_edited_is_refused(issued, tmp_path):
    data = issued.read_bytes()

    def edit_first_page(writer):
        page = writer.pages[0]
        contents = ContentStream(page.get_contents(), writer)
        for operands, operator in contents.operations:  # the first glyph of the cover's first line
            if operator in (b"Tj", b"TJ"):
                strings = operands[0] if operator == b"TJ" else operands
                at = next(i for i, x in enumerate(strings) if isinstance(x, (ByteStringObject, TextStringObject)))
                glyphs = strings[at].original_bytes if isinstance(strings[at], TextStringObject) else bytes(strings[at])
                strings[at] = ByteStringObject(glyphs[:-1] + bytes([glyphs[-1] ^ 1]))
                break
        page.replace_contents(contents)

    edited = _rewritten(data, edit_first_page)
    assert PdfReader(io.BytesIO(edited)).pages[0].extract_text() != PdfReader(io.BytesIO(data)).pages[0].extract_text()
    out, error = verify(write(tmp_path, "text.pdf", edited))
    assert error is not None and ("seal" in error or "content hash" in error)
    assert "FAILED seal: the signature is not stored as Readiness stores it" in out

    # The careful forger keeps the seal at the end and edits bytes in place: the content hash fails.
    in_place = bytearray(data)
    in_place[2000] ^= 0x01
    out, error = verify(write(tmp_path, "in-place.pdf", bytes(in_place)))
    assert error is not None and "content hash" in error
    assert "FAILED content hash: the PDF's pages and attachment do not have the SHA-256 the signature names" in out


def test_a_pdf_signed_by_another_key_is_refused(issued, tmp_path, public_key_file):
    data = issued.read_bytes()
    seal = read_seal(data)
    unsigned = data[:seal.payload["pdf_size"]]
    other = Ed25519PrivateKey.generate()
    resealed = write(tmp_path, "other-key.pdf", seal_pdf(unsigned, signing.seal(seal.payload, key=other)))
    other_id = signing.key_id(other.public_key())
    for args in ((), ("--offline", "--public-key", str(public_key_file))):
        out, error = verify(resealed, *args)
        assert error is not None and "signature" in error
        assert f"FAILED signature: signed by another key (key id {other_id}" in out
    # Its own public key vouches for it: a verifier must be given the server's key, not trust the PDF's.
    other_pub = write(tmp_path, "other.pub", signing.public_pem(other.public_key()).encode())
    out, error = verify(resealed, "--offline", "--public-key", str(other_pub))
    assert error is None, out


def test_bytes_appended_after_the_seal_are_refused(issued, tmp_path):
    data = issued.read_bytes()
    writer = PdfWriter(io.BytesIO(data), incremental=True)
    writer.add_metadata({"/Title": "All approved"})
    buffer = io.BytesIO()
    writer.write(buffer)
    assert buffer.getvalue().startswith(data)  # a genuine incremental update after ours
    out, error = verify(write(tmp_path, "appended.pdf", buffer.getvalue()))
    assert error is not None and "seal" in error
    assert "FAILED seal: bytes were added or changed after the signature" in out


def test_a_report_issued_before_signing_is_accepted_only_with_a_warning(issued, release, tmp_path, settings):
    data = issued.read_bytes()
    legacy = data[:read_seal(data).payload["pdf_size"]]  # the rendered bytes: what reports were before signing
    assert read_seal(legacy).envelope is None
    legacy_path = write(tmp_path, "legacy.pdf", legacy)
    out, error = verify(legacy_path)
    assert error is not None and "signature" in error  # not archived: nobody can vouch for it

    # Archived before signing: the migration that added file_sha256 gave it the hash of its file.
    report = Report(release=release, format="pdf", state=Report.State.READY, manifest_sha256=read_seal(data)
                    .payload["manifest"], size=len(legacy), attempts=1)
    report.file.save("legacy.pdf", ContentFile(legacy), save=False)
    report.finished_at = report.content_as_of = release.created_at
    report.save()
    name = next(path.stem for path in (Path(apps.get_app_config("checklists").path) / "migrations")
                .glob("*_report_file_sha256.py"))  # found by name: migrations are renumbered on merges
    migration = importlib.import_module(f"checklists.migrations.{name}")
    migration.backfill(apps, None)
    report.refresh_from_db()
    assert report.file_sha256 == hashlib.sha256(legacy).hexdigest()
    out, error = verify(legacy_path)
    assert error is None, out
    assert f"WARNING: unsigned (issued before signing): its bytes are those of archived report #{report.pk}" in out
    assert "MATCH" in out
    out, error = verify(legacy_path, "--offline")
    assert error is not None and "unsigned (issued before signing)" in out


def test_a_malformed_signature_block_is_named(issued, tmp_path):
    data = issued.read_bytes()
    seal = read_seal(data)
    envelope = dict(seal.envelope, payload={**seal.payload, "manifest": "0" * 64})
    forged = data[:seal.payload["pdf_size"]]
    resealed = seal_pdf(forged, envelope)
    out, error = verify(write(tmp_path, "tampered.pdf", resealed))
    assert error is not None and "signature" in error
    assert "the signature does not verify" in out
    garbage = resealed.replace(base64.b64encode(json.dumps(envelope, sort_keys=True, separators=(",", ":"))
                                                .encode())[:40], b"A" * 40)
    out, error = verify(write(tmp_path, "garbage.pdf", garbage))
    assert error is not None


def _bundle(release, people, tmp_path):
    import zipfile

    from reports import services as reports

    _, data = reports.report_bundle(release=release, by=people["auditor"])
    folder = tmp_path / "bundle"
    zipfile.ZipFile(io.BytesIO(data)).extractall(folder)
    return folder


def _run_bundle(folder, *args, python_flags=("-I",)):
    import subprocess
    import sys

    return subprocess.run([sys.executable, *python_flags, "verify_bundle.py", *args], cwd=folder,
                          capture_output=True, text=True, timeout=60)


def test_the_bundle_checks_the_signature_with_cryptography_and_says_so_without(issued, release, people, tmp_path,
                                                                             public_key_file):
    folder = _bundle(release, people, tmp_path)
    key_id = signing.key_id(signing.server_public_key())
    assert (folder / "signing-key.pem").read_text() == public_key_file.read_text()
    assert json.loads((folder / "anchor.json").read_text())["key_id"] == key_id
    result = _run_bundle(folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"report.pdf is signed by key {key_id}" in result.stdout
    assert f"anchor.json is signed by key {key_id}" in result.stdout and "report.pdf is sealed" in result.stdout
    result = _run_bundle(folder, "--public-key", str(public_key_file))
    assert result.returncode == 0 and "compare this key id" not in result.stdout

    # Without site-packages there is no cryptography: the script says the signature went unchecked.
    result = _run_bundle(folder, python_flags=("-I", "-S"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "signature not checked: install cryptography" in result.stdout
    assert "report.pdf is sealed" in result.stdout

    other = tmp_path / "other.pub"
    other.write_text(signing.public_pem(Ed25519PrivateKey.generate().public_key()))
    result = _run_bundle(folder, "--public-key", str(other))
    assert result.returncode == 1 and "signature of report.pdf: signed by another key" in result.stdout

    anchor = json.loads((folder / "anchor.json").read_text())
    anchor["payload"]["events"] += 5
    (folder / "anchor.json").write_text(json.dumps(anchor))
    result = _run_bundle(folder)
    assert result.returncode == 1 and "signature of anchor.json: the signature does not verify" in result.stdout


def test_the_bundle_refuses_a_pdf_edited_after_signing(issued, release, people, tmp_path):
    folder = _bundle(release, people, tmp_path)
    pdf = bytearray((folder / "report.pdf").read_bytes())
    pdf[2000] ^= 0x01
    (folder / "report.pdf").write_bytes(bytes(pdf))
    result = _run_bundle(folder)
    assert result.returncode == 1 and "content hash" in result.stdout


WEASYPRINT_REPORT = Path(__file__).resolve().parent / "fixtures" / "weasyprint-signed-report.pdf"


def test_a_report_laid_out_by_weasyprint_still_verifies(tmp_path):
    """A signed report as Readiness issued it while WeasyPrint laid reports out (a three-item release,
    signed with the development key): the layout engine changed, the checks of its file did not."""
    data = WEASYPRINT_REPORT.read_bytes()
    key = signing.development_key().public_key()
    assert "WeasyPrint" in str(PdfReader(io.BytesIO(data)).metadata["/Producer"])
    file = check_file(data, [key])
    assert file.problems == [] and file.signed and file.source == "signature"
    assert file.content["schema"] == "readiness.report/2" and file.content["release"]["service"] == "fixture-app"
    public_key = write(tmp_path, "development.pub", signing.public_pem(key).encode())
    out, error = verify(write(tmp_path, "weasyprint.pdf", data), "--offline", "--public-key", str(public_key))
    assert error is None and "AUTHENTIC" in out, out

    # Its bytes before the seal are a report of the time before signing: the manifest is in its metadata.
    unsigned = check_file(data[:read_seal(data).payload["pdf_size"]], [key])
    assert (unsigned.signed, unsigned.source, unsigned.manifest, unsigned.problems) == (
        False, "metadata", file.manifest, [])

    # The bundle's own script accepts it too, and still catches an edit.
    folder = tmp_path / "bundle"
    folder.mkdir()
    (folder / "report.pdf").write_bytes(data)
    (folder / "report.json").write_bytes(PdfReader(io.BytesIO(data)).attachments["report.json"][0])
    (folder / "manifest.sha256").write_text(f"{file.manifest}  report.json\n")
    (folder / "files.json").write_text("[]")
    (folder / "signing-key.pem").write_text(signing.public_pem(key))
    (folder / "verify_bundle.py").write_bytes(Path(reports_verify_bundle.__file__).read_bytes())
    result = _run_bundle(folder)
    assert result.returncode == 0 and "report.pdf is sealed" in result.stdout, result.stdout + result.stderr
    edited = bytearray(data)
    edited[2000] ^= 0x01
    (folder / "report.pdf").write_bytes(bytes(edited))
    result = _run_bundle(folder)
    assert result.returncode == 1 and "content hash" in result.stdout
