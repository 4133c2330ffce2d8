"""One snapshot type for both sources: a live cluster and a manifest bundle."""
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


@dataclass
class Snapshot:
    """Kubernetes objects as plain dicts (the API's JSON: camelCase keys), grouped by kind id.

    `missing` holds kind ids whose CRD is not installed: a probe treats those as "not installed",
    which is a failure for items that require the component, never a crash.
    """

    source: str  # "cluster:<name>" or "manifests:<paths>"
    objects: dict[str, list[dict]] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)
    server_version: dict | None = None  # {"major": "1", "minor": "29", "gitVersion": "v1.29.3"}
    live: bool = False  # False for manifests: no Nodes, Pods or server version to judge
    # Views derived from `objects` that several probes share (see `memo`). Not an init field, so
    # the copy `dataclasses.replace` makes without exempted objects starts with none.
    _memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def of(self, kind_id: str) -> list[dict]:
        return self.objects.get(kind_id, [])

    def has(self, kind_id: str) -> bool:
        return kind_id not in self.missing

    def memo(self, key: Hashable, compute: Callable[[], T]) -> T:
        """`compute()` once per snapshot and `key`: namespaces in scope, pod specs, label indexes.

        Forty-odd probes read the same objects; deriving these views once per snapshot instead of
        once per probe is most of what keeps a 10,000-pod evaluation fast. Callers must not change
        what they get back, and nobody may change `objects` while probes run (`forget` if you do).
        """
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def forget(self) -> None:
        """Drop the memoised views, after `objects` changed."""
        self._memo.clear()
