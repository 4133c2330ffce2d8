"""What a probe is, what it returns, and the catalogue that holds them all.

A probe is a pure function `(snapshot, params) -> Outcome`: it reads objects the collector already
listed and never calls the API, so the same probe judges a live cluster and a manifest bundle.
"""
import types
import typing
from collections.abc import Callable
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Literal

from probes.engine.snapshot import Snapshot

Status = Literal["pass", "fail", "error", "skip"]
STATUSES: tuple[Status, ...] = ("pass", "fail", "error", "skip")


@dataclass(frozen=True, init=False)
class Finding:
    """One thing to fix: the object ("namespace/Kind/name", or "Kind/name" when cluster-scoped),
    the JSON path of the field, and what is wrong and what to set."""

    object: str
    field: str
    message: str
    source: str | None = None  # manifest file the object came from, when known (for SARIF)
    line: int | None = None  # line of the object's document in that file

    def __init__(self, object: str, field: str, message: str, source: str | None = None, line: int | None = None):
        # A frozen dataclass's own __init__ sets each field through object.__setattr__, three times
        # the cost of this; a large cluster's run makes tens of thousands of findings.
        values = self.__dict__
        values["object"], values["field"], values["message"] = object, field, message
        values["source"], values["line"] = source, line

    def as_dict(self) -> dict:
        return {"object": self.object, "field": self.field, "message": self.message}


@dataclass
class Outcome:
    status: Status
    summary: str  # one line
    findings: list[Finding] = field(default_factory=list)
    exempted: list[str] = field(default_factory=list)  # "namespace/Kind/name: reason"
    observed: dict = field(default_factory=dict)  # small and JSON-able: what was judged

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")


class ParamsError(ValueError):
    """Parameters given to a probe that it does not know, or of the wrong type."""


@dataclass(frozen=True)
class NoParams:
    pass


@dataclass(frozen=True)
class Probe:
    id: str
    title: str
    description: str
    kinds: tuple[str, ...]  # kind ids the probe reads; collectors list exactly these
    params: type  # a dataclass whose fields are the typed parameters, with defaults
    items: tuple[str, ...]  # seed item keys this probe can decide
    check: Callable[[Snapshot, typing.Any], Outcome]

    def parse_params(self, raw: dict | None) -> typing.Any:
        """Validate and coerce a params dict into the probe's params dataclass."""
        return parse_params(self.params, raw or {}, where=f"probe {self.id}")

    def defaults(self) -> dict:
        return asdict(self.params())


CATALOGUE: dict[str, Probe] = {}


def probe(id: str, title: str, *, kinds, params: type = NoParams, items=()):
    """Register the decorated function as a probe; its docstring is the description."""

    def register(check):
        if id in CATALOGUE:
            raise ValueError(f"probe {id!r} is registered twice")
        description = " ".join((check.__doc__ or "").split())
        CATALOGUE[id] = Probe(id, title, description, tuple(kinds), params, tuple(items), check)
        return check

    return register


def parse_params(cls: type, raw: dict, *, where: str):
    if not isinstance(raw, dict):
        raise ParamsError(f"{where}: params must be a mapping, not {type(raw).__name__}")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ParamsError(f"{where}: unknown param(s) {', '.join(unknown)}; known: {', '.join(sorted(known)) or 'none'}")
    hints = typing.get_type_hints(cls)
    values = {}
    for name, value in raw.items():
        try:
            values[name] = _coerce(value, hints[name])
        except TypeError as exc:
            raise ParamsError(f"{where}: param {name}: {exc}") from None
    for name, f in known.items():
        if name not in values and f.default is MISSING and f.default_factory is MISSING:
            raise ParamsError(f"{where}: param {name} is required")
    return cls(**values)


def _coerce(value, hint):
    """Accept a YAML/JSON value for a typed field, refusing silent conversions (1.30 is not "1.3")."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0])
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"expected a list, got {value!r}")
        items = [_coerce(v, args[0]) for v in value]
        return items if origin is list else tuple(items)
    if origin is dict:
        if not isinstance(value, dict):
            raise TypeError(f"expected a mapping, got {value!r}")
        return {_coerce(k, args[0]): _coerce(v, args[1]) for k, v in value.items()}
    if hint is bool:
        if not isinstance(value, bool):
            raise TypeError(f"expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise TypeError(f"expected a string, got {value!r} (quote it in YAML)")
        return value
    raise TypeError(f"unsupported parameter type {hint!r}")


# Helpers every probe uses to turn what it judged into an Outcome without vacuous passes.


def judge(findings: list[Finding], judged: int, what: str, *, observed: dict | None = None, ok: str = "") -> Outcome:
    """Pass, fail or skip for a probe that judged `judged` objects described as `what` (plural)."""
    observed = {"judged": judged, **(observed or {})}
    if findings:
        bad = len({f.object for f in findings})
        return Outcome("fail", f"{bad} of {judged} {what} need attention", findings, observed=observed)
    if judged == 0:
        return Outcome("skip", f"no {what} to judge", observed=observed)
    return Outcome("pass", ok or f"all {judged} {what} comply", observed=observed)


def skip(reason: str, **observed) -> Outcome:
    return Outcome("skip", reason, observed=observed)


def fail(summary: str, findings: list[Finding] | None = None, **observed) -> Outcome:
    return Outcome("fail", summary, findings or [], observed=observed)
