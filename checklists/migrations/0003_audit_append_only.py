from django.db import migrations

# The audit log is append-only in the database itself, not only in the application: an UPDATE or
# DELETE on it raises. (A superuser can still disable the trigger; verify_audit then finds the change.)
FORWARD = """
CREATE FUNCTION checklists_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'checklists_auditevent is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER checklists_audit_append_only
    BEFORE UPDATE OR DELETE ON checklists_auditevent
    FOR EACH ROW EXECUTE FUNCTION checklists_audit_append_only();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS checklists_audit_append_only ON checklists_auditevent;
DROP FUNCTION IF EXISTS checklists_audit_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("checklists", "0002_evidence_and_links")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
