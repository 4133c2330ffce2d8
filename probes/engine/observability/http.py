"""HTTP for the observability collectors: one client per endpoint, timeouts, retries, typed errors.

Each error is a `probes.cluster_collector.CollectError` (so callers handle a dead Prometheus like a dead cluster):
its message names the endpoint and the path, never a token, and `transient` says whether a retry
later may help. Retries here cover 429, 5xx and dropped connections, honouring Retry-After up to
a bound, with jittered exponential backoff between attempts.
"""
import base64
import json
import random
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode, urlsplit

import urllib3

from probes.cluster_collector import CollectError

DEFAULT_TIMEOUT = (3.0, 20.0)  # (connect, read) seconds
MAX_BODY = 32 * 1024 * 1024  # an API answer larger than this is refused, not read into memory
MAX_RETRY_AFTER = 30.0
RETRY_STATUSES = {429, 500, 502, 503, 504}


class EndpointUnreachable(CollectError):
    """No answer: connection refused, DNS, timeout, TLS."""

    transient = True


class EndpointUnauthorized(CollectError):
    """401 or 403: the token is wrong, expired, or lacks permission."""


class EndpointError(CollectError):
    """Another HTTP failure; transient for 429 and 5xx."""


class BadResponse(CollectError):
    """The server answered, but not with what its API documents (garbage, HTML, a wrong shape)."""


@dataclass(frozen=True)
class Endpoint:
    """Where one observability system answers, and how to authenticate. `token` is a bearer token
    (Grafana service account, a proxy in front of Prometheus); `username`/`password` do basic auth."""

    kind: str  # "prometheus", "alertmanager", "grafana", "loki", "jaeger", "tempo"
    url: str
    token: str = field(default="", repr=False)
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: tuple[float, float] = DEFAULT_TIMEOUT
    retries: int = 3  # attempts after the first, for transient failures
    verify_tls: bool = True
    ca_file: str = ""
    org_id: str = ""  # Loki/Grafana multi-tenancy header, when set

    def __post_init__(self):
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"endpoint URL must be http(s)://host[:port][/path], not {self.url!r}")


class Client:
    def __init__(self, endpoint: Endpoint, *, sleep=time.sleep):
        self.endpoint = endpoint
        self._sleep = sleep
        kwargs = {"timeout": urllib3.Timeout(connect=endpoint.timeout[0], read=endpoint.timeout[1]), "retries": False}
        if endpoint.url.startswith("https"):
            kwargs["cert_reqs"] = "CERT_REQUIRED" if endpoint.verify_tls else "CERT_NONE"
            if endpoint.ca_file:
                kwargs["ca_certs"] = endpoint.ca_file
        self._pool = urllib3.PoolManager(num_pools=2, maxsize=4, **kwargs)
        self.calls = 0

    def _headers(self, auth: tuple[str, str] | None) -> dict:
        headers = {"Accept": "application/json", "User-Agent": "readiness-collector"}
        user, password = auth or (self.endpoint.username, self.endpoint.password)
        if auth or user:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        elif self.endpoint.token:
            headers["Authorization"] = f"Bearer {self.endpoint.token}"
        if self.endpoint.org_id:
            headers["X-Scope-OrgID"] = self.endpoint.org_id
        return headers

    def get(self, path: str, params: dict | None = None, *, auth: tuple[str, str] | None = None) -> tuple[int, bytes]:
        """(status, body) of GET `path`, retrying transient failures; 401/403 and other 4xx raise."""
        url = self.endpoint.url.rstrip("/") + path + (f"?{urlencode(params)}" if params else "")
        where = f"{self.endpoint.kind} at {self.endpoint.url} ({path})"
        attempt = 0
        while True:
            attempt += 1
            self.calls += 1
            try:
                response = self._pool.request("GET", url, headers=self._headers(auth), preload_content=False, redirect=False)
                try:
                    body = self._read(response, where)
                finally:
                    response.release_conn()
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                if attempt > self.endpoint.retries:
                    raise EndpointUnreachable(f"{where}: no answer after {attempt} attempt(s): {_reason(exc)}") from None
                self._sleep(_backoff(attempt))
                continue
            status = response.status
            if status in RETRY_STATUSES:
                if attempt > self.endpoint.retries:
                    raise EndpointError(f"{where}: HTTP {status} after {attempt} attempt(s)", transient=True)
                delay = _retry_after(response.headers.get("Retry-After"))
                self._sleep(_backoff(attempt) if delay is None else delay)
                continue
            if status in (401, 403) and auth is None:
                raise EndpointUnauthorized(f"{where}: HTTP {status}: the credentials are wrong, expired or lack permission")
            if status >= 400 and status not in (401, 403):
                raise EndpointError(f"{where}: HTTP {status}")
            return status, body

    def _read(self, response, where: str) -> bytes:
        chunks, size = [], 0
        for chunk in response.stream(64 * 1024):
            size += len(chunk)
            if size > MAX_BODY:
                raise BadResponse(f"{where}: the answer is over {MAX_BODY // (1024 * 1024)} MB")
            chunks.append(chunk)
        return b"".join(chunks)

    def get_json(self, path: str, params: dict | None = None):
        status, body = self.get(path, params)
        return parse_json(body, f"{self.endpoint.kind} at {self.endpoint.url} ({path})")

    def close(self):
        self._pool.clear()


def parse_json(body: bytes, where: str):
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        preview = body[:60].decode("utf-8", "replace").replace("\n", " ")
        raise BadResponse(f"{where}: the answer is not JSON (starts {preview!r})") from None
    except RecursionError:  # thousands of nested brackets: no API answers so
        raise BadResponse(f"{where}: the answer is nested too deeply to read") from None


def _reason(exc: Exception) -> str:
    text = str(getattr(exc, "reason", None) or exc)
    return text.split(": ", 1)[-1][:200] if "Max retries" not in text else type(exc).__name__


def _backoff(attempt: int) -> float:
    return min(8.0, 0.2 * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(value)))
    except ValueError:
        pass
    try:
        return min(MAX_RETRY_AFTER, max(0.0, parsedate_to_datetime(value).timestamp() - time.time()))
    except (TypeError, ValueError):
        return None
