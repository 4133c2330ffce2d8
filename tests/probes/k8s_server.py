"""A small Kubernetes-API-shaped HTTP server on loopback, for tests and the benchmark.

It serves fixture objects the way a real API server lists them, so the official `kubernetes` client
runs unmocked against it: `/version`, minimal discovery, cluster-wide and per-namespace list paths
for core, grouped and custom resources, `limit`/`continue` pagination with opaque tokens, 404 for a
custom resource whose CRD is not installed, bearer-token checks, a scripted fault list (429 with
Retry-After, 5xx, 403, 410, dropped connections, stalls) and a request log to count calls.

Like a real server, list items of built-in kinds carry no `kind`/`apiVersion` (only the list does);
custom resources keep theirs. Collectors must cope with both.
"""
import base64
import json
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import yaml

from probes.engine.kinds import KINDS, Kind

DEFAULT_TOKEN = "test-token"
DEFAULT_VERSION = {"major": "1", "minor": "30", "gitVersion": "v1.30.4", "platform": "linux/amd64"}

_LIST_PATH = re.compile(
    r"^/(?:api/(?P<core>v1)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))"
    r"(?:/namespaces/(?P<ns>[^/]+))?/(?P<plural>[^/]+)$"
)
_REASONS = {
    400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 410: "Expired",
    429: "TooManyRequests", 500: "InternalError", 502: "BadGateway", 503: "ServiceUnavailable",
}


@dataclass
class Fault:
    """A scripted answer for requests to one path, taking precedence over normal serving."""

    path: str  # request path without the query, e.g. "/apis/apps/v1/deployments"
    status: int  # the HTTP status to answer; 0 drops the connection without a response
    times: int | None = 1  # how many matching requests it answers; None: every one
    retry_after: str | None = None  # value of the Retry-After header, if any
    delay: float = 0.0  # seconds to stall before answering (to trigger client timeouts)
    on_continue: bool = False  # only requests carrying a continue token (an expired token: 410)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    status: int


@dataclass
class KubeApiServer:
    """Start with `start()` (or as a context manager); `url` is then http://127.0.0.1:PORT.

    `objects` maps kind ids (see probes.engine.kinds) to object dicts and may be replaced at any time. A
    custom kind absent from `objects` answers 404, as when its CRD is not installed; a built-in
    kind absent from it lists empty.
    """

    objects: dict[str, list[dict]] = field(default_factory=dict)
    token: str | None = DEFAULT_TOKEN  # None accepts any caller
    version: dict = field(default_factory=lambda: dict(DEFAULT_VERSION))
    faults: list[Fault] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    resource_version: int = 1000
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _httpd: "_Server | None" = field(default=None, repr=False)

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> "KubeApiServer":
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.api = self  # type: ignore[attr-defined]
        # A short poll interval: shutdown() waits up to one interval, which every test pays.
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         name="k8s-api", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "KubeApiServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._httpd, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # --- test helpers ----------------------------------------------------------------------
    def fault(self, path: str, status: int, **kwargs) -> Fault:
        fault = Fault(path, status, **kwargs)
        with self._lock:
            self.faults.append(fault)
        return fault

    def calls(self, path: str | None = None) -> int:
        """Requests received, optionally only those for one path (query ignored)."""
        with self._lock:
            return sum(1 for r in self.requests if path is None or r.path == path)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.faults.clear()

    def kubeconfig(self, token: str | None = None, *, context: str = "test") -> str:
        return kubeconfig_text(self.url, token or self.token or DEFAULT_TOKEN, context=context)

    # --- serving (called from handler threads) ---------------------------------------------
    def take_fault(self, path: str, query: dict[str, str]) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.path != path or (fault.on_continue and "continue" not in query):
                    continue
                if fault.times is not None:
                    if fault.times <= 0:
                        continue
                    fault.times -= 1
                return fault
        return None

    def log(self, method: str, path: str, query: dict[str, str], status: int) -> None:
        with self._lock:
            self.requests.append(Request(method, path, query, status))


def kubeconfig_text(server: str, token: str, *, context: str = "test") -> str:
    """A kubeconfig with one cluster, one token user and one context, as YAML text."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "loopback", "cluster": {"server": server}}],
        "users": [{"name": "prober", "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": "loopback", "user": "prober"}}],
        "current-context": context,
    }
    return yaml.safe_dump(config, sort_keys=False)


def make_object(kind_id: str, name: str, namespace: str | None = None, **fields) -> dict:
    """A minimal object of a kind, with `fields` (spec=..., status=...) merged in at the top level."""
    kind = KINDS[kind_id]
    metadata = {"name": name, "uid": f"uid-{kind.plural}-{namespace or ''}-{name}"}
    if kind.namespaced:
        metadata["namespace"] = namespace or "default"
    metadata.update(fields.pop("metadata", {}))
    return {"apiVersion": kind.api_version, "kind": kind.kind, "metadata": metadata, **fields}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # A client that gave up (a timeout test) leaves a stalled handler writing to a closed
        # socket: expected here, not worth a traceback on stderr.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


_BY_PATH = {(k.group, k.version, k.plural): k for k in KINDS.values()}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the client's connection pool expects
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms stalls

    @property
    def api(self) -> KubeApiServer:
        return self.server.api  # type: ignore[attr-defined]

    def log_message(self, format, *args) -> None:  # noqa: A002 - quiet: tests read api.requests
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query))
        status = self._answer(parts.path, query)
        self.api.log("GET", parts.path, query, status)

    def _answer(self, path: str, query: dict[str, str]) -> int:
        fault = self.api.take_fault(path, query)
        if fault:
            return self._fault(fault)
        if path == "/version":  # readable anonymously, as on real clusters (public-info-viewer)
            return self._json(200, self.api.version)
        if self.api.token and self.headers.get("Authorization") != f"Bearer {self.api.token}":
            return self._status(401, "Unauthorized")
        if path == "/api":
            return self._json(200, {"kind": "APIVersions", "versions": ["v1"]})
        if path == "/apis":
            return self._json(200, _group_list())
        match = _LIST_PATH.match(path)
        kind = match and _BY_PATH.get((match["group"] or "", match["core"] or match["version"],
                                       match["plural"]))
        if not kind or (kind.custom and kind.id not in self.api.objects):
            return self._status(404, "the server could not find the requested resource")
        return self._list(kind, match["ns"], query)

    def _list(self, kind: Kind, namespace: str | None, query: dict[str, str]) -> int:
        items = self.api.objects.get(kind.id, [])
        if namespace:
            items = [o for o in items if o.get("metadata", {}).get("namespace") == namespace]
        try:
            start = _decode_continue(query["continue"], kind, namespace) if "continue" in query else 0
            limit = int(query.get("limit") or 0)
        except ValueError:
            return self._status(400, "invalid continue token or limit")
        end = start + limit if limit > 0 else len(items)
        metadata: dict = {"resourceVersion": str(self.api.resource_version)}
        if end < len(items):
            metadata["continue"] = _encode_continue(kind, namespace, end)
            metadata["remainingItemCount"] = len(items) - end
        page = [o if kind.custom else _strip_type(o) for o in items[start:end]]
        body = {"kind": f"{kind.kind}List", "apiVersion": kind.api_version, "metadata": metadata,
                "items": page}
        return self._json(200, body)

    def _fault(self, fault: Fault) -> int:
        if fault.delay:
            time.sleep(fault.delay)
        if fault.status == 0:
            self.close_connection = True  # no response at all: the client sees a reset
            return 0
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        return self._status(fault.status, f"scripted {fault.status}", headers)

    def _status(self, code: int, message: str, headers: dict | None = None) -> int:
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": message, "reason": _REASONS.get(code, "Unknown"), "code": code}
        return self._json(code, body, headers)

    def _json(self, code: int, body: dict, headers: dict | None = None) -> int:
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        return code


def _strip_type(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


def _encode_continue(kind: Kind, namespace: str | None, offset: int) -> str:
    raw = json.dumps({"k": kind.id, "ns": namespace, "o": offset}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_continue(token: str, kind: Kind, namespace: str | None) -> int:
    try:
        state = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError) as exc:
        raise ValueError("malformed continue token") from exc
    if state.get("k") != kind.id or state.get("ns") != namespace:
        raise ValueError("continue token from another list")  # a real server rejects these too
    return int(state["o"])


def _group_list() -> dict:
    groups: dict[str, set[str]] = {}
    for kind in KINDS.values():
        if kind.group:
            groups.setdefault(kind.group, set()).add(kind.version)
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
        {"name": name, "versions": [{"groupVersion": f"{name}/{v}", "version": v} for v in sorted(vs)],
         "preferredVersion": {"groupVersion": f"{name}/{max(vs)}", "version": max(vs)}}
        for name, vs in sorted(groups.items())
    ]}
