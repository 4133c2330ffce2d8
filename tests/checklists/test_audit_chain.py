"""The audit chain: every web change appends an event; altering a stored row is detected, and so is
cutting or rewriting its tail, against the signed anchors of its head (issue 9 §7)."""
import json
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from checklists.models import AuditEvent
from checklists.services import items as item_services
from checklists.services import comments as comment_services

pytestmark = pytest.mark.django_db(transaction=True)


def _change_some_items(people, release):
    items = list(release.items.order_by("order")[:3])
    item_services.item_set_status(item=items[0], status="done", by=people["engineer"], expected_version=1)
    item_services.item_assign(item=items[1], assignee=people["engineer"], by=people["manager"], expected_version=1)
    comment_services.comment_add(item=items[2], body="checked", by=people["manager"])
    return items


def test_verify_audit_passes_on_an_untouched_chain(people, release, capsys):
    _change_some_items(people, release)
    call_command("verify_audit")
    assert f"Audit chain intact: {AuditEvent.objects.count()} events verified." in capsys.readouterr().out


def test_verify_audit_names_the_altered_event(people, release):
    _change_some_items(people, release)
    target = AuditEvent.objects.get(action="checklists.item.assigned")
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE checklists_auditevent DISABLE TRIGGER checklists_audit_append_only")
        try:
            cursor.execute("UPDATE checklists_auditevent SET after = %s WHERE id = %s",
                           ['{"assignee": "mallory", "version": 2}', target.pk])
        finally:
            cursor.execute("ALTER TABLE checklists_auditevent ENABLE TRIGGER checklists_audit_append_only")
    with pytest.raises(CommandError, match=rf"Audit chain broken at event #{target.pk}: .*altered"):
        call_command("verify_audit")


def test_the_database_refuses_to_alter_events(people, release):
    from django.db import DatabaseError, transaction

    _change_some_items(people, release)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(action="checklists.comment.added").update(actor_name="someone else")


def test_truncate_of_the_audit_table_is_refused(people, release):
    from django.db import DatabaseError, transaction

    _change_some_items(people, release)
    with pytest.raises(DatabaseError, match=r"append-only \(TRUNCATE refused\)"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE checklists_auditevent")
    assert AuditEvent.objects.count() > 0


def _cut_the_tail(count: int) -> None:
    """What an attacker with the table owner's rights does: triggers off, newest events deleted."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE checklists_auditevent DISABLE TRIGGER ALL")
        try:
            cursor.execute("DELETE FROM checklists_auditevent WHERE id IN (SELECT id FROM checklists_auditevent "
                           "ORDER BY id DESC LIMIT %s)", [count])
        finally:
            cursor.execute("ALTER TABLE checklists_auditevent ENABLE TRIGGER ALL")


def test_a_cut_tail_is_named_against_the_anchor_file(people, release, settings, tmp_path, caplog):
    import logging

    from checklists.tasks import anchor_audit_chain

    settings.READINESS_AUDIT_ANCHOR_FILE = str(tmp_path / "anchors.jsonl")
    _change_some_items(people, release)
    with caplog.at_level(logging.INFO, logger="checklists.audit.anchor"):
        head = anchor_audit_chain()  # what beat runs every READINESS_AUDIT_ANCHOR_MINUTES
    logged = [r for r in caplog.records if r.name == "checklists.audit.anchor"]
    assert logged and logged[0].audit_anchor["payload"]["event_id"] == head  # the JSON log line carries it
    lines = (tmp_path / "anchors.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["payload"]["event_id"] == head
    total = AuditEvent.objects.count()
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert f"names event {head} of {total}" in out.getvalue()

    _cut_the_tail(2)
    last = AuditEvent.objects.order_by("-id").first().pk
    with pytest.raises(CommandError) as raised:
        call_command("verify_audit", stdout=StringIO())
    assert re.search(rf"the chain ends at event {last} but the anchor of \S+ \(.*anchors.jsonl line 1\) names "
                     rf"event {head}: 2 event\(s\) missing", str(raised.value)), str(raised.value)


def test_a_cut_tail_is_named_against_a_report_given_as_anchor(people, release, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    _change_some_items(people, release)
    pdf = tmp_path / "report.pdf"
    call_command("export_report", release.pk, "-o", str(pdf), stdout=StringIO())
    call_command("verify_audit", "--anchor", str(pdf), stdout=StringIO())
    _cut_the_tail(1)  # the export's own "report generated" event: the report anchored the event before it
    _cut_the_tail(1)
    with pytest.raises(CommandError, match=r"names event \d+: 1 event\(s\) missing"):
        call_command("verify_audit", "--anchor", str(pdf), stdout=StringIO())
    # verify_report checks the report's anchor too.
    with pytest.raises(CommandError, match="lost events the report anchored"):
        call_command("verify_report", str(pdf), stdout=StringIO())


def test_a_rewritten_tail_and_a_foreign_anchor_are_named(people, release, settings, tmp_path):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from checklists.anchors import anchor_make
    from checklists.audit import event_hash
    from readiness import signing

    settings.READINESS_AUDIT_ANCHOR_FILE = str(tmp_path / "anchors.jsonl")
    _change_some_items(people, release)
    anchor = anchor_make()
    (tmp_path / "anchors.jsonl").write_text(json.dumps(anchor) + "\n")
    # Rewrite the newest event and re-hash it: the chain is consistent again, the anchor is not.
    newest = AuditEvent.objects.order_by("-id").first()
    newest.after = {"comment": 0, "sha256": "0" * 64}
    newest.hash = event_hash(newest)
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE checklists_auditevent DISABLE TRIGGER ALL")
        try:
            cursor.execute("UPDATE checklists_auditevent SET after = %s, hash = %s WHERE id = %s",
                           [json.dumps(newest.after), newest.hash, newest.pk])
        finally:
            cursor.execute("ALTER TABLE checklists_auditevent ENABLE TRIGGER ALL")
    with pytest.raises(CommandError, match=rf"names event {newest.pk} with hash .* the chain was rewritten"):
        call_command("verify_audit", stdout=StringIO())
    forged = signing.seal(anchor["payload"], key=Ed25519PrivateKey.generate())
    (tmp_path / "anchors.jsonl").write_text(json.dumps(forged) + "\n")
    with pytest.raises(CommandError, match="is not trusted: signed by another key"):
        call_command("verify_audit", stdout=StringIO())


def test_the_next_checkpoint_raises_the_alarm_when_the_tail_was_cut(people, release, settings, tmp_path, caplog):
    import logging

    from checklists.tasks import anchor_audit_chain

    settings.READINESS_AUDIT_ANCHOR_FILE = str(tmp_path / "anchors.jsonl")
    _change_some_items(people, release)
    head = anchor_audit_chain()
    _cut_the_tail(1)
    with caplog.at_level(logging.INFO, logger="checklists.audit.anchor"):
        anchor_audit_chain()
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and f"names event {head}: 1 event(s) missing" in errors[0]
    assert len((tmp_path / "anchors.jsonl").read_text().splitlines()) == 2  # the new head is anchored all the same
