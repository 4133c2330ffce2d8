"""A small HTTP server on loopback that answers like Prometheus, Alertmanager, Grafana, Loki or
Jaeger from recorded responses, with scripted faults (status codes, stalls, dropped connections,
garbage bodies) and a request log, the way tests/probes/k8s_server.py stands in for Kubernetes."""
import base64
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Fault:
    path: str
    status: int  # 0 drops the connection without an answer
    times: int | None = 1  # None: every request
    delay: float = 0.0
    body: bytes | None = None  # served instead of the recorded answer
    retry_after: str | None = None


@dataclass
class ObservabilityServer:
    routes: dict[str, object] = field(default_factory=dict)  # path -> JSON-able value, bytes or str
    token: str | None = None  # when set, requests need "Authorization: Bearer <token>"
    basic: dict[str, str] = field(default_factory=dict)  # username -> password accepted by basic auth
    faults: list[Fault] = field(default_factory=list)
    requests: list[tuple[str, dict, str]] = field(default_factory=list)  # (path, query, authorization)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def start(self):
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.api = self
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def fault(self, path: str, status: int, **kwargs) -> None:
        self.faults.append(Fault(path, status, **kwargs))

    def take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.path == path and (fault.times is None or fault.times > 0):
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        api: ObservabilityServer = self.server.api
        parts = urlsplit(self.path)
        auth = self.headers.get("Authorization", "")
        api.requests.append((parts.path, dict(parse_qsl(parts.query)), auth))
        fault = api.take_fault(parts.path)
        if fault:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.status == 0:
                self.connection.shutdown(2)
                return
            if fault.body is not None:
                return self._send(fault.status, fault.body, retry_after=fault.retry_after)
            if fault.status != 200:
                return self._send(fault.status, b'{"message": "scripted fault"}', retry_after=fault.retry_after)
        if not self._authorised(api, auth):
            return self._send(401, b'{"message": "Unauthorized"}')
        if parts.path not in api.routes:
            return self._send(404, b'404 page not found\n', content_type="text/plain")
        value = api.routes[parts.path]
        if callable(value):
            value = value(dict(parse_qsl(parts.query)))
        if isinstance(value, str):
            return self._send(200, value.encode(), content_type="text/plain; charset=utf-8")
        if isinstance(value, bytes):
            return self._send(200, value)
        return self._send(200, json.dumps(value).encode())

    def _authorised(self, api: ObservabilityServer, auth: str) -> bool:
        if auth.startswith("Basic "):
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            return api.basic.get(user) == password
        return api.token is None or auth == f"Bearer {api.token}"

    def _send(self, status: int, body: bytes, content_type="application/json", retry_after=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if retry_after:
            self.send_header("Retry-After", retry_after)
        self.end_headers()
        self.wfile.write(body)
