"""The audit chain: every web change appends an event; altering a stored row is detected."""
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from checklists.models import AuditEvent
from checklists.services import items as item_services

pytestmark = pytest.mark.django_db(transaction=True)


def _change_some_items(people, release):
    items = list(release.items.order_by("order")[:3])
    item_services.item_set_status(item=items[0], status="done", by=people["engineer"], expected_version=1)
    item_services.item_assign(item=items[1], assignee=people["engineer"], by=people["manager"], expected_version=1)
    item_services.comment_add(item=items[2], body="checked", by=people["manager"])
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
