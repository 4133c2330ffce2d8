"""Label selectors: the string form (`env=prod,tier in (web,api),!legacy`) and the object form
(`matchLabels` / `matchExpressions`) used by PDBs, NetworkPolicies, Services and ServiceMonitors."""
import re
from dataclasses import dataclass

_SET = re.compile(r"^\s*(!?)([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQ = re.compile(r"^\s*([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)\s*$")
_EXISTS = re.compile(r"^\s*(!?)([\w./-]+)\s*$")


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # In, NotIn, Exists, DoesNotExist
    values: tuple[str, ...] = ()

    def matches(self, labels: dict) -> bool:
        present = self.key in labels
        value = str(labels.get(self.key, ""))
        if self.operator == "In":
            return present and value in self.values
        if self.operator == "NotIn":
            return not present or value not in self.values
        if self.operator == "Exists":
            return present
        if self.operator == "DoesNotExist":
            return not present
        raise ValueError(f"unknown selector operator {self.operator!r}")


OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


class SelectorError(ValueError):
    pass


def parse_selector(text: str) -> list[Requirement]:
    """Parse the kubectl `-l` string form; an empty string selects everything."""
    requirements = []
    for part in _split(text):
        if m := _SET.match(part):
            if m.group(1):
                raise SelectorError(f"cannot negate a set requirement: {part!r}")
            values = tuple(v.strip() for v in m.group(4).split(",") if v.strip())
            requirements.append(Requirement(m.group(2), "In" if m.group(3) == "in" else "NotIn", values))
        elif m := _EQ.match(part):
            requirements.append(Requirement(m.group(1), "NotIn" if m.group(2) == "!=" else "In", (m.group(3),)))
        elif m := _EXISTS.match(part):
            requirements.append(Requirement(m.group(2), "DoesNotExist" if m.group(1) else "Exists"))
        else:
            raise SelectorError(f"cannot read label selector requirement {part!r}")
    return requirements


def _split(text: str) -> list[str]:
    """Split on commas that are not inside a parenthesised value set."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p for p in parts if p.strip()]


def selector_requirements(selector: dict | None) -> list[Requirement]:
    """The object form; `None` is "nothing" for most callers, so they decide before calling."""
    selector = selector or {}
    requirements = [Requirement(k, "In", (str(v),)) for k, v in (selector.get("matchLabels") or {}).items()]
    for expression in selector.get("matchExpressions") or []:
        values = tuple(str(v) for v in expression.get("values") or ())
        requirements.append(Requirement(expression["key"], expression["operator"], values))
    return requirements


def matches(requirements: list[Requirement], labels: dict) -> bool:
    return all(r.matches(labels) for r in requirements)


def selects(selector: dict | None, labels: dict) -> bool:
    """Does a LabelSelector object select these labels? An empty selector selects everything."""
    return matches(selector_requirements(selector), labels)


class LabelIndex:
    """Objects grouped by namespace and by label pair, so a selector is tried only on the objects
    that could carry its labels: matching every selector against every object is quadratic.

    `candidates` narrows; the caller still applies the selector itself, so the index can never
    change an answer, only skip objects that cannot match. Objects whose namespace is not a string
    or whose labels are not a mapping (malformed YAML) are never skipped.
    """

    def __init__(self, objects: list, namespace_of, labels_of):
        self.objects = objects
        self._namespaces: list = []  # position -> namespace, or None when it is not a string
        self._by_pair: dict[tuple[str, str], list[int]] = {}  # positions in increasing order
        self._odd_labels: set[int] = set()
        by_pair = self._by_pair
        for position, obj in enumerate(objects):
            ns = namespace_of(obj)
            self._namespaces.append(ns if isinstance(ns, str) else None)
            found = labels_of(obj)
            if not isinstance(found, dict):
                self._odd_labels.add(position)
                continue
            for key, value in found.items():
                # Requirement.matches compares str(value): YAML may give a label as a number.
                pair = (key, value if type(value) is str else str(value))
                if pair in by_pair:
                    by_pair[pair].append(position)
                else:
                    by_pair[pair] = [position]

    def candidates(self, requirements: list[Requirement], namespaces: set[str] | frozenset[str] | None = None) -> list:
        """Objects, in their original order, in `namespaces` (None: any) that every `In`
        requirement could select; a superset of those the requirements select."""
        if any(r.operator not in OPERATORS or not isinstance(r.key, str) for r in requirements):
            requirements = []  # such a selector fails or raises on any object: try it on all
        positions = None
        for requirement in requirements:
            if requirement.operator == "In":
                pairs = (self._by_pair.get((requirement.key, value), ()) for value in requirement.values)
                found = set().union(*pairs) | self._odd_labels
                positions = found if positions is None else positions & found
        if positions is None:
            positions = range(len(self.objects))
        if namespaces is not None:
            in_namespaces = self._namespaces
            positions = [p for p in positions if in_namespaces[p] is None or in_namespaces[p] in namespaces]
        return [self.objects[p] for p in sorted(positions)]


class SelectorIndex:
    """Selectors grouped by one label pair each of them requires, so a label set is tried only
    against the selectors that could select it: the reverse of LabelIndex, for "which budget
    selects this workload" over many workloads and many budgets.

    Like LabelIndex it only narrows: the caller still applies each candidate selector.
    """

    def __init__(self, selectors: list[list[Requirement]]):
        self._count = len(selectors)
        self._by_pair: dict[tuple[str, str], list[int]] = {}
        self._always: list[int] = []  # selectors with no usable `In` requirement: always tried
        for position, requirements in enumerate(selectors):
            anchor = next((r for r in requirements if r.operator == "In"), None)
            # An unknown operator or a key that is not a string fails or raises whatever the
            # labels: such selectors are always tried, so they fail as they would unindexed.
            if anchor is None or any(r.operator not in OPERATORS or not isinstance(r.key, str) for r in requirements):
                self._always.append(position)
                continue
            for value in anchor.values:
                self._by_pair.setdefault((anchor.key, value), []).append(position)

    def candidates(self, labels: dict) -> list[int]:
        """Positions, in their original order, of the selectors that could select `labels`."""
        if not isinstance(labels, dict):
            return list(range(self._count))
        found = set(self._always)
        for key, value in labels.items():
            found.update(self._by_pair.get((key, str(value)), ()))
        return sorted(found)
