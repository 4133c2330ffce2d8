"""The one YAML loader for untrusted text: bundles, kubeconfigs and checklist metadata.

YAML aliases let a few hundred bytes stand for billions of nodes ("billion laughs"): PyYAML builds
them as shared references, cheap in memory, but every walk over the result (JSON, findings, HTML)
expands them again. Deep nesting makes the composer, and any recursive walk after it, overflow the
stack. So before anything is composed, the event stream is read once (the parser keeps no stack of
its own) counting, per document, the nodes the document stands for with every alias expanded and
the depth it reaches through aliases; a document over either budget, or an alias that refers to the
node it sits in, is refused with the file and the line. Only then is the text loaded, safely (no
Python tags), with libyaml's C loader where PyYAML was built with it: the same documents, faster.
A text without an anchor ("&") holds no alias, and libyaml's composer stops at 1,000 levels: with
the C loader, such a text is composed at once and each document measured as a tree; the event
stream is read only to word a refusal, so the messages are the same either way.

No Django here: the probe engine uses it too; callers pass their limits.
"""
from collections.abc import Iterator
from dataclasses import dataclass

import yaml

try:  # libyaml: parses several times faster; results are the same (tests/readiness/test_safe_yaml.py)
    from yaml import CSafeLoader as Loader
    from yaml.cyaml import CParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as Loader

    CParser = None

PURE_LOADER = yaml.SafeLoader

MAX_DEPTH = 64  # Kubernetes objects, CRD schemas included, stay well under this
MAX_ALIAS_NODES = 10_000  # nodes aliases may add to one document, expanded
MAX_NODES = 2_000_000  # nodes one document may stand for, aliases expanded


@dataclass(frozen=True)
class Limits:
    max_depth: int = MAX_DEPTH
    max_alias_nodes: int = MAX_ALIAS_NODES
    max_nodes: int = MAX_NODES


DEFAULT_LIMITS = Limits()


class YamlError(ValueError):
    """Text that is not YAML, or YAML over the budget; `line` counts from 1 (0: unknown)."""

    def __init__(self, name: str, line: int, problem: str, document: int = 0):
        self.name, self.line, self.problem, self.document = name, line, problem, document
        where = f"line {line}" if line else "unknown line"
        super().__init__(f"{name}: {where}: {problem}")


def load(text: str | bytes, *, name: str, limits: Limits = DEFAULT_LIMITS, loader=Loader):
    """The first document of `text` (None when empty); YamlError when invalid or over the budget."""
    for _number, _line, doc in documents(text, name=name, limits=limits, loader=loader, skip_empty=False):
        return doc
    return None


def load_all(text: str | bytes, *, name: str, limits: Limits = DEFAULT_LIMITS, loader=Loader) -> list:
    return [doc for _n, _l, doc in documents(text, name=name, limits=limits, loader=loader, skip_empty=False)]


def documents(text: str | bytes, *, name: str, limits: Limits = DEFAULT_LIMITS, loader=Loader,
              skip_empty: bool = True) -> Iterator[tuple[int, int, object]]:
    """(document number from 1, its first line, the document) for each document of `text`.

    The whole stream is checked against `limits` before the first document is given out, so a
    refusal never comes after part of the text was used. Empty documents are left out with
    `skip_empty`.
    """
    if _may_hold_anchors(text) or not _composes_in_c(loader):
        check(text, name=name, limits=limits, loader=loader)
        yield from _built(text, name, loader, skip_empty)
        return
    # No anchor, so no alias: each document composes to a tree no larger than its text, measured
    # before it is built, and the event stream is read only when something is wrong, to say what.
    try:
        built = _built(text, name, loader, skip_empty, tree_limits=limits)
    except YamlError:
        check(text, name=name, limits=limits, loader=loader)  # the refusal, in the usual words
        raise
    yield from built


def _may_hold_anchors(text: str | bytes) -> bool:
    # An anchor is written with "&"; a text without one (most manifests) cannot hold an alias.
    return (b"&" if isinstance(text, bytes) else "&") in text


def _composes_in_c(loader) -> bool:
    # libyaml's composer stops at 1,000 levels on its own; PyYAML's recurses in Python, so deep
    # nesting must be refused from the event stream before the pure loader composes anything.
    return CParser is not None and issubclass(loader, CParser)


def _built(text: str | bytes, name: str, loader, skip_empty: bool, tree_limits: Limits | None = None) -> list:
    """Every document of `text`; with `tree_limits`, each alias-free document is measured once
    composed and refused when over them."""
    parser = loader(text)
    built, number = [], 0
    try:
        while True:
            number += 1
            try:
                if not parser.check_node():
                    break
                node = parser.get_node()
                if node is not None and tree_limits is not None and not _tree_within(node, tree_limits):
                    raise YamlError(name, _node_line(node), f"nested more than {tree_limits.max_depth} levels deep "
                                                            f"or more than {tree_limits.max_nodes:,} nodes", number)
                if node is None:
                    doc = None
                elif tree_limits is not None:
                    doc = _construct_tree(parser, node)
                else:
                    doc = parser.construct_document(node)
            except yaml.YAMLError as exc:
                raise _yaml_error(exc, name, number) from None
            except RecursionError:  # the budget check keeps depth far below this; belt and braces
                raise YamlError(name, 0, "nested too deeply", number) from None
            if doc is None and skip_empty:
                continue
            built.append((number, _node_line(node) if node is not None else 0, doc))
    finally:
        parser.dispose()
    return built


def _tree_within(root: yaml.Node, limits: Limits) -> bool:
    """Whether a document without aliases stays within the depth and node limits, as `check`
    counts them (a node is as deep as the collections around it); only collections are visited."""
    nodes, pending = 1, [(root, 0)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = node.value
        else:
            continue
        if children and depth + 1 > limits.max_depth:
            return False
        nodes += len(children)
        pending.extend((child, depth + 1) for child in children if not isinstance(child, yaml.ScalarNode))
    return nodes <= limits.max_nodes


_STR, _MAP, _SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_SPECIAL_KEYS = ("tag:yaml.org,2002:merge", "tag:yaml.org,2002:value")


def _construct_tree(parser, node: yaml.Node):
    """`parser.construct_document(node)` for a document without aliases, most of it built here:
    strings, and mappings and sequences of them, which are nearly all of a manifest. Anything else
    (numbers, booleans, other tags, merge keys, keys that are not scalars) is left to PyYAML."""
    if type(node) is yaml.ScalarNode and node.tag == _STR:
        return node.value
    if type(node) is yaml.MappingNode and node.tag == _MAP and all(
            type(key) is yaml.ScalarNode and key.tag not in _SPECIAL_KEYS for key, _ in node.value):
        return {_construct_tree(parser, key): _construct_tree(parser, value) for key, value in node.value}
    if type(node) is yaml.SequenceNode and node.tag == _SEQ:
        return [_construct_tree(parser, child) for child in node.value]
    return parser.construct_document(node)


def _node_line(node: yaml.Node) -> int:
    return node.start_mark.line + 1 if node.start_mark is not None else 0


def check(text: str | bytes, *, name: str, limits: Limits = DEFAULT_LIMITS, loader=Loader) -> None:
    """Refuse `text` when a document is nested deeper than the limit or stands for too many nodes."""
    parser = loader(text)
    anchors: dict[str, tuple[int, int]] = {}  # anchor -> (expanded nodes, depth below it)
    # One frame per open collection: [anchor, nodes before it, levels of nesting below it so far].
    stack: list[list] = []
    nodes = alias_nodes = document = 0
    try:
        while True:
            try:
                event = parser.get_event()
            except yaml.YAMLError as exc:
                if "nesting depth" in str(exc):  # libyaml's own limit (1,000), met while it scans ahead
                    raise YamlError(name, _line(exc), f"nested more than {limits.max_depth} levels deep",
                                    max(document, 1)) from None
                raise _yaml_error(exc, name, document) from None
            if event is None or isinstance(event, yaml.StreamEndEvent):
                return
            line = event.start_mark.line + 1 if event.start_mark is not None else 0
            if isinstance(event, yaml.DocumentStartEvent):
                document += 1
                anchors, nodes, alias_nodes = {}, 0, 0  # anchors are scoped to their document
                continue
            if isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent, yaml.MappingStartEvent,
                                  yaml.SequenceStartEvent)):
                if isinstance(event, yaml.AliasEvent):
                    if event.anchor not in anchors:
                        if any(frame[0] == event.anchor for frame in stack):
                            raise YamlError(name, line, f"the alias *{event.anchor} refers to the node that "
                                                        f"contains it (a recursive structure)", document)
                        continue  # an undefined alias: the loader reports it in its own words
                    size, below = anchors[event.anchor]
                    alias_nodes += size
                    if alias_nodes > limits.max_alias_nodes:
                        raise YamlError(name, line, f"aliases expand to more than {limits.max_alias_nodes:,} "
                                                    f"nodes; write the values out instead", document)
                else:
                    size, below = 1, 0
                nodes += size
                if nodes > limits.max_nodes:
                    raise YamlError(name, line, f"the document holds more than {limits.max_nodes:,} nodes",
                                    document)
                if len(stack) + below > limits.max_depth:
                    raise YamlError(name, line, f"nested more than {limits.max_depth} levels deep", document)
                if stack:
                    stack[-1][2] = max(stack[-1][2], 1 + below)
                if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                    stack.append([event.anchor, nodes - 1, 0])
                elif event.anchor and isinstance(event, yaml.ScalarEvent):
                    anchors[event.anchor] = (1, 0)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                anchor, before, height = stack.pop()
                if stack:
                    stack[-1][2] = max(stack[-1][2], 1 + height)
                if anchor:
                    anchors[anchor] = (nodes - before, height)
    finally:
        parser.dispose()


def _line(exc: yaml.YAMLError) -> int:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark.line + 1 if mark is not None else 0


def _yaml_error(exc: yaml.YAMLError, name: str, document: int) -> YamlError:
    problem = getattr(exc, "problem", None) or str(exc)
    return YamlError(name, _line(exc), f"not valid YAML: {problem}", document)
