"""The one YAML loader for untrusted text: budgets for aliases and depth, and the C loader's equivalence."""
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from readiness import safe_yaml

ROOT = Path(__file__).resolve().parents[2]
# Every YAML file the project ships or tests with: the two loaders must agree on all of them.
CORPUS = sorted(p for folder in ("checklists/seed", "tests/probes", "docker")
                for p in (ROOT / folder).rglob("*.y*ml"))
TRICKY = [
    "a: 010\nb: 0o10\nc: 0x1f\nd: 1_000\ne: 1.5e3\nf: .inf\ng: -.NaN\n",
    "yes: yes\nno: No\non: on\nnull: ~\nempty:\nt: 2026-12-01\nts: 2026-12-01T10:00:00Z\n",
    "base: &b {cpu: 1, memory: 1Gi}\nlimits: {<<: *b, cpu: 2}\nlist: [*b, *b]\n",
    "s: !!str 12\nb: !!binary aGVsbG8=\nset: !!set {a, b}\nomap: !!omap [{a: 1}, {b: 2}]\n",
    "text: |\n  line one\n  line two\nfolded: >-\n  a\n  b\n'quoted key': \"\\u00e9\\t\"\n",
    "---\n---\nk: v\n--- |\n  literal\n...\n",
    # Without anchors: merge keys written inline, value keys, keys that are not strings, duplicates.
    "limits: {<<: {cpu: 1, memory: 1Gi}, cpu: 2}\nports: {80: http, 443: https, 1.5: x, true: y, ~: z}\n",
    "= : default\nk: v\nk: again\nd: {2026-12-01: day}\nnested: [[a, {b: [c]}], !!str 1, !!int '7']\n",
]


def bomb(levels: int, width: int = 9) -> str:
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    lines += [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * width)}]" for n in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def _both(text: str):
    return [list(safe_yaml.documents(text, name="t.yaml", loader=loader, skip_empty=False))
            for loader in (safe_yaml.Loader, safe_yaml.PURE_LOADER)]


def test_the_c_loader_is_used_where_pyyaml_has_it():
    assert safe_yaml.Loader is (yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader)


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: str(p.relative_to(ROOT)))
def test_c_and_pure_loaders_give_the_same_documents_and_lines(path):
    assert len(CORPUS) > 10
    fast, pure = _both(path.read_text(encoding="utf-8"))
    assert fast == pure


@pytest.mark.parametrize("text", TRICKY)
def test_c_and_pure_loaders_agree_on_tricky_yaml(text):
    fast, pure = _both(text)
    assert fast == pure
    assert [doc for _n, _l, doc in fast] == list(yaml.load_all(text, Loader=yaml.SafeLoader))


@pytest.mark.parametrize("loader", [safe_yaml.Loader, safe_yaml.PURE_LOADER], ids=["c", "pure"])
@pytest.mark.parametrize("text, problem, line", [
    (bomb(6), "aliases expand to more than 10,000 nodes", 5),
    ("a: " + "[" * 5000 + "]" * 5000 + "\n", "nested more than 64 levels deep", 1),
    ("x: " + "{a: " * 70 + "1" + "}" * 70 + "\n", "nested more than 64 levels deep", 1),
    ("items: &a [*a]\n", "the alias *a refers to the node that contains it", 1),
    ("a: &a {b: {c: *a}}\n", "the alias *a refers to the node that contains it", 1),
    ("a: 1\n---\nb: [unclosed\n", "not valid YAML", 4),
    ("a: *undefined\n", "not valid YAML: found undefined alias", 1),
    ("? [a, b]\n: c\n", "not valid YAML: found unhashable key", 1),
    ("a: !custom 1\n", "not valid YAML: could not determine a constructor", 1),
])
def test_over_budget_and_invalid_yaml_is_refused_naming_the_file_and_line(loader, text, problem, line):
    with pytest.raises(safe_yaml.YamlError) as caught:
        safe_yaml.load_all(text, name="bundle/app.yaml", loader=loader)
    assert caught.value.line == line and problem in caught.value.problem
    assert str(caught.value).startswith(f"bundle/app.yaml: line {line}: ")


def test_depth_reached_through_an_alias_counts():
    deep = "d: &d " + "[" * 40 + "]" * 40 + "\n"
    assert safe_yaml.load(deep + "x: " + "[" * 20 + "*d" + "]" * 20 + "\n", name="a.yaml")
    with pytest.raises(safe_yaml.YamlError, match="line 2: nested more than 64 levels deep"):
        safe_yaml.load(deep + "x: " + "[" * 30 + "*d" + "]" * 30 + "\n", name="a.yaml")


def test_small_alias_use_and_limits_are_configurable():
    assert safe_yaml.load(bomb(3), name="a.yaml")["l3"][0][0][0][0] == "lol"  # 8,289 alias nodes: within budget
    limits = safe_yaml.Limits(max_alias_nodes=100)
    with pytest.raises(safe_yaml.YamlError, match="more than 100 nodes"):
        safe_yaml.load(bomb(3), name="a.yaml", limits=limits)
    # Anchors are scoped to their document: the budget is too.
    assert len(safe_yaml.load_all("---\n".join([bomb(3)] * 3), name="a.yaml")) == 3


def test_documents_skip_empty_ones_and_report_their_first_line():
    text = "---\n---\n# comment\nk: v\n---\nz: 1\n"
    assert list(safe_yaml.documents(text, name="a.yaml")) == [(2, 4, {"k": "v"}), (3, 6, {"z": 1})]
    assert safe_yaml.load("", name="a.yaml") is None


def test_python_tags_are_refused():
    with pytest.raises(safe_yaml.YamlError, match="not valid YAML"):
        safe_yaml.load("!!python/object/apply:os.system ['true']\n", name="a.yaml")


def _nested(levels: int) -> str:
    return "x: " + "[" * (levels - 1) + "1" + "]" * (levels - 1) + "\n"  # the scalar sits `levels` deep


@pytest.mark.parametrize("loader", [safe_yaml.Loader, safe_yaml.PURE_LOADER], ids=["c", "pure"])
def test_texts_without_anchors_meet_the_same_budgets_at_the_same_lines(loader):
    # With the C loader such texts are measured once composed, not from the event stream: the
    # limits must fall at exactly the same places, in the same words.
    assert safe_yaml.load(_nested(64), name="a.yaml", loader=loader)
    with pytest.raises(safe_yaml.YamlError, match="line 1: nested more than 64 levels deep"):
        safe_yaml.load(_nested(65), name="a.yaml", loader=loader)
    wide = "ok: 1\n---\n" + "".join(f"k{n}: [a, b]\n" for n in range(40))  # 1 + 40 * 4 nodes
    limits = safe_yaml.Limits(max_nodes=160)
    with pytest.raises(safe_yaml.YamlError, match="line 42: the document holds more than 160 nodes") as caught:
        safe_yaml.load_all(wide, name="a.yaml", loader=loader, limits=limits)
    assert caught.value.document == 2
    assert len(safe_yaml.load_all(wide, name="a.yaml", loader=loader, limits=safe_yaml.Limits(max_nodes=161))) == 2


def test_a_later_broken_document_refuses_the_text_before_any_document_is_given_out():
    documents = safe_yaml.documents("a: 1\n---\nb: [unclosed\n", name="a.yaml")
    with pytest.raises(safe_yaml.YamlError, match="line 4: not valid YAML"):
        next(documents)


_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12),
                     st.sampled_from(["yes", "No", "on", "~", "0o17", "0x1f", "1_000", "12:30", "2026-12-01", ".inf", "=", "<<"]))
_documents = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_scalars, inner, max_size=4),
                          max_leaves=30)


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data) -> bool:
        return True


@settings(max_examples=200, deadline=None)
@given(docs=st.lists(_documents, min_size=1, max_size=3), flow=st.booleans())
def test_without_anchors_the_c_loader_builds_what_pyyaml_builds(docs, flow):
    # Dumped without anchors, as helm template writes manifests: the C loader's shortcut applies.
    text = yaml.dump_all(docs, Dumper=_NoAliases, default_flow_style=flow, allow_unicode=True)
    fast, pure = _both(text)
    assert fast == pure
