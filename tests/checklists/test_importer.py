"""Importing Markdown into template versions, on PostgreSQL."""
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from checklists.checklist_markdown import ChecklistError
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


def test_the_seed_is_named_the_default_template():
    """load_default_template looks the seed up by this name before parsing it."""
    from django.conf import settings

    from checklists import checklist_markdown as markdown

    assert markdown.parse(CHECKLIST.read_text(encoding="utf-8")).title == settings.READINESS_DEFAULT_TEMPLATE


def test_the_seed_found_again_is_what_importing_it_again_finds(seed_teams, monkeypatch, django_assert_num_queries):
    from checklists import checklist_markdown as markdown
    from checklists.seed import seed_metadata

    first = load_default_template()
    metadata = seed_metadata()
    metadata.pop("team_names")
    imported_again = template_import(data=CHECKLIST.read_bytes(), source_name=CHECKLIST.name, metadata=metadata)

    def no_parsing(*args, **kwargs):
        raise AssertionError("the seed was parsed again")

    monkeypatch.setattr(markdown, "parse", no_parsing)
    # The seed's teams (one query: all exist), its version by digest, then its item and section counts.
    with django_assert_num_queries(4):
        found = load_default_template()
    assert found == imported_again
    assert (found.version.pk, found.created, found.items, found.sections) == (first.version.pk, False, 211, 50)


@pytest.mark.parametrize("change", ["file", "bindings"])
def test_a_changed_seed_is_imported_as_a_new_version(seed_teams, tmp_path, monkeypatch, change):
    from checklists import seed

    first = load_default_template()
    if change == "file":
        edited = tmp_path / CHECKLIST.name
        edited.write_text(CHECKLIST.read_text(encoding="utf-8").replace(
            "- [ ] Cluster has at least 3 nodes for high availability",
            "- [ ] Cluster has at least 5 nodes for high availability"), encoding="utf-8")
        monkeypatch.setattr(seed, "CHECKLIST", edited)
    else:
        metadata = seed.seed_metadata()
        key = next(iter(metadata["probes"]))
        metadata["probes"].pop(key)
        monkeypatch.setattr(seed, "seed_metadata", lambda: metadata)
    second = load_default_template()
    assert second.created and second.version.number == first.version.number + 1
    assert second.version.template_id == first.version.template_id
    assert load_default_template().version.pk == second.version.pk


def test_seed_teams_missing_are_created_and_present_ones_kept(db):
    from checklists.models import Team
    from checklists.seed import ensure_seed_teams

    Team.objects.create(slug="platform", name="Platform (renamed here)")
    ensure_seed_teams({"team_names": {"platform": "Platform", "sre": "SRE"}})
    assert dict(Team.objects.values_list("slug", "name")) == {"platform": "Platform (renamed here)", "sre": "SRE"}


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


# --- limits: a template's size bounds every release made from it -----------------------------------
def _checklist(items: int, depth: int = 0) -> bytes:
    lines = ["# Big", "## Section"] + [f"- [ ] item {n}" for n in range(items)]
    lines += ["  " * level + f"- [ ] nested {level}" for level in range(depth + 1)] if depth else []
    return ("\n".join(lines) + "\n").encode()


def test_a_checklist_over_the_item_limit_is_refused_naming_the_line(settings):
    settings.READINESS_CHECKLIST_MAX_ITEMS = 100
    template_import(data=_checklist(100), name="Exactly")
    with pytest.raises(ChecklistError) as caught:
        template_import(data=_checklist(101), name="Over")
    assert caught.value.line == 103 and "more than 100 items" in str(caught.value)
    assert not ChecklistTemplate.objects.filter(name="Over").exists()


def test_items_nested_too_deep_are_refused_naming_the_line(settings):
    settings.READINESS_CHECKLIST_MAX_DEPTH = 8
    template_import(data=_checklist(1, depth=8), name="Deep enough")
    with pytest.raises(ChecklistError) as caught:
        template_import(data=_checklist(1, depth=9), name="Too deep")
    assert caught.value.line == 13 and "nested more than 8 levels" in str(caught.value)


def test_the_import_command_refuses_a_big_checklist_and_bad_metadata(tmp_path, settings):
    settings.READINESS_CHECKLIST_MAX_ITEMS = 10
    big = tmp_path / "big.md"
    big.write_bytes(_checklist(11))
    with pytest.raises(CommandError, match=r"big.md: line 13: the checklist holds more than 10 items"):
        call_command("import_checklist", str(big))
    small = tmp_path / "small.md"
    small.write_bytes(_checklist(2))
    meta = tmp_path / "meta.yaml"
    bomb = "".join(f"a{n}: &a{n} [{', '.join([f'*a{n - 1}' if n else 'x'] * 9)}]\n" for n in range(8))
    for text, says in [(bomb, r"meta.yaml: line 5: aliases expand to more than 10,000 nodes"),
                       ("[1, 2]\n", "expected a mapping"), ("teams: [a]\n", "teams must be a mapping"),
                       ("teams: {a: [\n", r"meta.yaml: line 2: not valid YAML")]:
        meta.write_text(text)
        with pytest.raises(CommandError, match=says):
            call_command("import_checklist", str(small), "--metadata", str(meta))
    assert not ChecklistTemplate.objects.filter(name="Big").exists()


def test_deep_nesting_exports_and_reports_without_recursion(settings, people):
    """A version nested deeper than Python recurses (imported under older limits) still exports."""
    from checklists.services.releases import release_create
    from reports.services import report_render

    settings.READINESS_CHECKLIST_MAX_DEPTH = 1500
    result = template_import(data=_checklist(1, depth=1200), name="Deep")
    exported = template_export(template=result.version.template)
    assert exported.count("<!-- key: ") == 1202
    assert "  " * 1200 + "- [ ] nested 1200" in exported
    release = release_create(template_version=result.version, service="deep", version="1", by=people["manager"])
    report = report_render(release=release, fmt="md", by=people["manager"])
    assert b"nested 1200" in report.data
