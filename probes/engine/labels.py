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
    change an answer, only skip objects that cannot match.
    """

    def __init__(self, objects: list[dict], namespace_of, labels_of):
        self.objects = objects
        self._by_namespace: dict[str, list[int]] = {}
        self._by_pair: dict[tuple[str, str], set[int]] = {}
        self._odd_namespace: list[int] = []  # not a string (malformed YAML): never filtered out
        for position, obj in enumerate(objects):
            ns = namespace_of(obj)
            if isinstance(ns, str):
                self._by_namespace.setdefault(ns, []).append(position)
            else:
                self._odd_namespace.append(position)
            for key, value in labels_of(obj).items():
                # Requirement.matches compares str(value): YAML may give a label as a number.
                self._by_pair.setdefault((key, str(value)), set()).add(position)

    def candidates(self, requirements: list[Requirement], namespaces: set[str] | None = None) -> list[dict]:
        """Objects, in their original order, in `namespaces` (None: any) that every `In`
        requirement could select; a superset of those the requirements select."""
        if namespaces is None:
            positions = set(range(len(self.objects)))
        else:
            positions = {p for ns in namespaces for p in self._by_namespace.get(ns, ())}
            positions.update(self._odd_namespace)
        for requirement in requirements:
            if requirement.operator == "In":
                positions &= {p for value in requirement.values for p in self._by_pair.get((requirement.key, value), ())}
        return [self.objects[p] for p in sorted(positions)]
