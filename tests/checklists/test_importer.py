"""Importing Markdown into template versions, on PostgreSQL."""
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from checklists.markdown import ChecklistError
from checklists.models import AuditEvent, ChecklistTemplate, TemplateItem, TemplateSection, TemplateVersion
from checklists.seed import CHECKLIST, load_default_template
from checklists.services.templates import template_export, template_import

pytestmark = pytest.mark.django_db


def test_seed_import_counts(seed_teams):
    result = load_default_template()
    version = result.version
    assert result.created
    assert version.sections.filter(level=2).count() == 15
    assert version.sections.filter(level=3).count() == 35
    assert version.items.count() == 211
    assert version.items.filter(kind="checkbox").count() == 193
    assert version.items.filter(parent__isnull=False).count() == 23
    assert version.items.filter(kind="numbered").count() == 18


def test_seed_items_know_their_section_parent_team_and_requirement(seed_teams):
    version = load_default_template().version
    nested = version.items.get(key="dapr-configuration.pub-sub-kafka-with-proper-replication")
    assert nested.parent.key == "dapr-configuration.dapr-components-are-configured-for-production"
    assert nested.section.key == "application-services.dapr-configuration"
    assert nested.default_team.slug == "backend"
    tracing = version.items.filter(section__title="Distributed Tracing (Optional)")
    assert tracing.count() == 4 and not tracing.filter(required=True).exists()
    assert version.items.get(key="regulatory-compliance.hipaa-compliance-if-applicable").required is False
    code = version.items.get(key="container-security.security-contexts-are-configured")
    assert "runAsNonRoot: true" in code.guidance and code.guidance.startswith("```yaml")


def test_reimport_is_a_no_op(seed_teams):
    first = load_default_template()
    events = AuditEvent.objects.count()
    again = load_default_template()
    assert not again.created
    assert again.version.pk == first.version.pk
    assert TemplateVersion.objects.count() == 1
    assert AuditEvent.objects.count() == events


def test_edited_file_makes_a_new_version_and_unchanged_items_keep_their_keys(tmp_path):
    original = CHECKLIST.read_text()
    first = template_import(data=original.encode())
    edited = original.replace("- [ ] Cluster has at least 3 nodes for high availability",
                              "- [ ] Cluster has at least 5 nodes for high availability")
    second = template_import(data=edited.encode())
    assert second.created and second.version.number == first.version.number + 1
    old_keys = set(first.version.items.values_list("key", flat=True))
    new_keys = set(second.version.items.values_list("key", flat=True))
    assert old_keys - new_keys == {"kubernetes-cluster.cluster-has-at-least-3-nodes-for-high-availability"}
    assert new_keys - old_keys == {"kubernetes-cluster.cluster-has-at-least-5-nodes-for-high-availability"}
    assert len(old_keys & new_keys) == 210


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"# Title\n\nProse only.\n", "no checklist item"),
    ("# T\n- [ ] caf\xe9\n".encode("latin-1"), "line 2: the file is not UTF-8"),
    (b"# T\n## S\n- [ ] a\n```\nnever closed\n", "line 4"),
])
def test_malformed_files_are_refused_and_nothing_is_written(data, message):
    with pytest.raises(ChecklistError) as error:
        template_import(data=data, name="Broken")
    assert message in str(error.value)
    assert not ChecklistTemplate.objects.exists()
    assert not TemplateVersion.objects.exists() and not TemplateSection.objects.exists()
    assert not TemplateItem.objects.exists() and not AuditEvent.objects.exists()


def test_import_command_reports_errors_with_the_file_and_line(tmp_path):
    path = tmp_path / "bad.md"
    path.write_bytes(b"# T\n## S\n- [ ]\n")
    with pytest.raises(CommandError, match=r"bad.md: line 3: a checkbox without any text"):
        call_command("import_checklist", str(path))
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_checklist", str(tmp_path / "missing.md"))


def test_import_and_export_commands_round_trip(tmp_path, capsys):
    call_command("import_checklist", str(CHECKLIST), "--name", "Seed")
    assert "211 items" in capsys.readouterr().out
    call_command("export_checklist", "Seed")
    exported = capsys.readouterr().out
    assert exported.count("<!-- key: ") == 211
    path = tmp_path / "exported.md"
    path.write_text(exported)
    call_command("import_checklist", str(path), "--name", "Seed copy")
    copy = ChecklistTemplate.objects.get(name="Seed copy").latest_version()
    seed = ChecklistTemplate.objects.get(name="Seed").latest_version()
    assert list(copy.items.values_list("key", "text", "guidance", "parent__key")) == list(
        seed.items.values_list("key", "text", "guidance", "parent__key"))
    assert list(copy.sections.values_list("key", "title", "level")) == list(
        seed.sections.values_list("key", "title", "level"))
    assert template_export(template=copy.template).replace("Seed copy", "Seed", 1) == exported
