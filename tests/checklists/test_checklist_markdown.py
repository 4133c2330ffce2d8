"""The Markdown rules, without a database."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checklists import checklist_markdown as markdown
from checklists.checklist_markdown import ChecklistError, parse, render
from checklists.seed import CHECKLIST


@pytest.fixture(scope="module")
def seed():
    return parse(CHECKLIST.read_text())


def items_of(checklist):
    return [item for item, _ in checklist.walk_items()]


def test_seed_counts(seed):
    sections = list(seed.walk_sections())
    items = items_of(seed)
    assert seed.title == "Production Readiness Checklist"
    assert len([s for s, parent in sections if parent is None]) == 15
    assert len([s for s, parent in sections if parent is not None]) == 35
    assert len(items) == 211
    assert len([i for i in items if i.kind == "checkbox"]) == 193
    assert len([i for i in items if i.parent_key]) == 23
    assert len([i for i in items if i.kind == "numbered"]) == 18


def test_guidance_and_code_blocks_land_on_their_item(seed):
    by_key = {item.key: item for item in items_of(seed)}
    storage = by_key["storage.persistent-volumes-use-production-grade-storage-classes"]
    assert storage.guidance.splitlines() == [
        "- OKE: `oci-bv` (Block Volume)", "- AKS: `azure-disk` (Premium SSD)", "- GKE: `standard-rwo` (Persistent Disk)",
    ]
    resources = by_key["deployment-configuration.resource-requests-and-limits-are-set-for-all-containers"]
    assert resources.guidance.startswith("```yaml\nresources:\n  requests:\n    cpu: 100m")
    assert resources.guidance.endswith("```")
    # The next item does not swallow the code block.
    assert by_key["deployment-configuration.liveness-and-readiness-probes-are-configured"].guidance == ""


def test_nested_checkboxes_keep_their_parent(seed):
    by_key = {item.key: item for item in items_of(seed)}
    parent = by_key["dapr-configuration.dapr-components-are-configured-for-production"]
    assert [child.text for child in parent.children] == [
        "Pub/Sub: Kafka with proper replication",
        "State Store: PostgreSQL with connection pooling",
        "Secret Store: Kubernetes secrets or cloud secret manager",
    ]
    assert all(child.parent_key == parent.key for child in parent.children)


def test_numbered_gate_items_keep_inline_markdown_and_repair_mojibake(seed):
    gate = [i for i in items_of(seed) if i.kind == "numbered"]
    assert gate[0].text == "**All items above are checked** ✅"
    assert gate[0].number == 1 and gate[9].number == 10
    assert gate[10].text == "**Monitor closely** for first 24-48 hours"


def test_ticked_items_and_star_bullets():
    checklist = parse("# T\n\n## S\n* [x] done already\n- [X] also done\n+ [ ] open\n")
    assert [(i.text, i.checked) for i in items_of(checklist)] == [
        ("done already", True), ("also done", True), ("open", False)]


def test_numbered_entries_are_items_only_under_a_checklist_heading():
    text = "# T\n\n## Notes\n1. not an item\n2. [ ] an item\n\n## Launch Checklist\n1. an item\n"
    assert [i.text for i in items_of(parse(text))] == ["an item", "an item"]


def test_items_before_any_section_go_to_a_general_section():
    checklist = parse("- [ ] first\n")
    assert checklist.sections[0].title == "General"
    assert checklist.title == "Checklist"


def test_keys_are_unique_and_explicit_keys_win():
    checklist = parse("# T\n## S\n- [ ] same\n- [ ] same\n- [ ] renamed <!-- key: s.original -->\n")
    assert [i.key for i in items_of(checklist)] == ["s.same", "s.same-2", "s.original"]


@pytest.mark.parametrize("text, message, line", [
    ("", "empty", None),
    ("   \n\n", "empty", None),
    ("# Title\n\nJust prose.\n- a bullet\n", "no checklist item", None),
    ("# T\n## S\n- [ ] a\n```\ncode never closed\n", "never closed", 4),
    ("# T\n## S\n- [ ]   \n", "without any text", 3),
    ("# T\n## S\n- [ ] a <!-- key: x -->\n- [ ] b <!-- key: x -->\n", "used twice", 4),
    ("# T\n## S\n- [ ] a <!-- key: Bad Key -->\n", "not valid", 3),
])
def test_malformed_checklists_are_refused_with_the_line(text, message, line):
    with pytest.raises(ChecklistError) as error:
        parse(text)
    assert message in error.value.message
    assert error.value.line == line


def test_non_utf8_and_binary_files_are_refused_with_the_line():
    with pytest.raises(ChecklistError, match="not UTF-8") as error:
        markdown.decode("# T\n- [ ] caf\xe9\n".encode("latin-1"))
    assert error.value.line == 2
    with pytest.raises(ChecklistError, match="not a text file"):
        markdown.decode(b"\x89PNG\r\n\x1a\n\x00\x00")


def test_render_round_trips_the_seed(seed):
    again = parse(render(seed))
    assert [(i.key, i.text, i.guidance, i.parent_key, i.kind) for i in items_of(again)] == [
        (i.key, i.text, i.guidance, i.parent_key, i.kind) for i in items_of(seed)]
    assert [(s.key, s.title) for s, _ in again.walk_sections()] == [(s.key, s.title) for s, _ in seed.walk_sections()]
    assert render(again) == render(seed)


# Generated checklists: words that cannot be mistaken for Markdown structure.
_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789é", min_size=1, max_size=8)
_phrase = st.lists(_word, min_size=1, max_size=6).map(" ".join)
_guidance = st.lists(_phrase.map(lambda p: f"- {p}"), max_size=3).map("\n".join)
_item = st.fixed_dictionaries({"text": _phrase, "guidance": _guidance, "checked": st.booleans(),
                               "children": st.lists(st.fixed_dictionaries({"text": _phrase}), max_size=2)})
_section = st.fixed_dictionaries({"title": _phrase, "items": st.lists(_item, min_size=1, max_size=4),
                                  "subsections": st.lists(st.fixed_dictionaries(
                                      {"title": _phrase, "items": st.lists(_item, min_size=1, max_size=3)}),
                                      max_size=2)})


def _build(sections) -> markdown.Checklist:
    def items(specs):
        built = []
        for spec in specs:
            item = markdown.Item(key="", text=spec["text"], line=0, guidance=spec["guidance"], checked=spec["checked"])
            item.children = [markdown.Item(key="", text=c["text"], line=0) for c in spec["children"]]
            built.append(item)
        return built

    checklist = markdown.Checklist(title="Generated")
    for spec in sections:
        section = markdown.Section(key="", title=spec["title"], level=2, items=items(spec["items"]))
        section.sections = [markdown.Section(key="", title=sub["title"], level=3, items=items(sub["items"]))
                            for sub in spec["subsections"]]
        checklist.sections.append(section)
    markdown.assign_keys(checklist)
    return checklist


@settings(max_examples=150, deadline=None)
@given(st.lists(_section, min_size=1, max_size=4))
def test_export_then_import_round_trips_generated_checklists(sections):
    original = _build(sections)
    parsed = parse(render(original))
    assert [(s.key, s.title, s.level) for s, _ in parsed.walk_sections()] == [
        (s.key, s.title, s.level) for s, _ in original.walk_sections()]
    assert [(i.key, i.text, i.guidance, i.checked, i.parent_key) for i in items_of(parsed)] == [
        (i.key, i.text, i.guidance, i.checked, i.parent_key) for i in items_of(original)]
