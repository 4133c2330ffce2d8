from django.db import migrations

# The row trigger of 0003 does not fire on TRUNCATE, which empties the table in one statement: a
# statement trigger refuses it too. (Someone who can disable triggers can still cut the chain; the
# signed anchors of checklists/anchors.py then name what is missing.)
FORWARD = """
CREATE TRIGGER checklists_audit_no_truncate
    BEFORE TRUNCATE ON checklists_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION checklists_audit_append_only();
"""
BACKWARD = "DROP TRIGGER IF EXISTS checklists_audit_no_truncate ON checklists_auditevent;"


class Migration(migrations.Migration):
    dependencies = [("checklists", "0006_report_file_sha256")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
