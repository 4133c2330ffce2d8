"""Collect a Snapshot from a live cluster through the official `kubernetes` client.

One paginated list call per kind (cluster-wide for namespaced kinds), so API calls grow with the
kinds the bound probes need, not with the objects in the cluster. Responses are read as raw JSON
(`_preload_content=False`): objects stay the API's camelCase dicts, with no model round-trip.

Every failure becomes a `CollectError` subclass whose message can be shown to users as is (it
names the server or the resource, never a token or key) and whose `transient` flag tells the
Celery task whether retrying later may help.

The kubernetes client is imported on first use (`_client()`), not with this module: it costs a
second or more, which commands and pages that only name these errors (the probe CLI on manifests,
the cluster form) should not pay.
"""
from __future__ import annotations  # annotations name the client's types without importing it

import gc
import json
import logging
import random
import shutil
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TypeVar

import orjson
import urllib3
import yaml

from probes.engine import shapes
from probes.engine.kinds import KINDS, Kind
from probes.engine.snapshot import Snapshot
from readiness import safe_yaml

logger = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_TIMEOUT = (5.0, 60.0)  # (connect, read) seconds for each request
MAX_BACKOFF = 10.0  # seconds: the longest we wait between two attempts
MAX_RETRY_AFTER = 30.0  # seconds: a server may ask for more, but a worker will not park longer
# List pages that may wait for the decoding thread at once: a bound on the raw bytes held meanwhile.
DECODE_AHEAD = 4
# A kubeconfig is a few mappings deep and needs no aliases to speak of.
KUBECONFIG_LIMITS = safe_yaml.Limits(max_depth=20, max_alias_nodes=1_000, max_nodes=100_000)


# --- errors ----------------------------------------------------------------------------------
class CollectError(Exception):
    """A collection failed; the message is safe to show to users and to store."""

    transient = False  # True: the same call may succeed later (worth a Celery retry)

    def __init__(self, message: str, *, transient: bool | None = None):
        super().__init__(message)
        if transient is not None:
            self.transient = transient


class KubeconfigError(CollectError):
    """The stored kubeconfig (or the in-cluster service account) cannot be used."""


class ClusterUnreachable(CollectError):
    """No answer from the server: connection refused, DNS, timeout, TLS."""

    transient = True


class ClusterForbidden(CollectError):
    """401 or 403: the credentials are wrong, expired, or lack list permission."""


class ClusterError(CollectError):
    """Any other API failure; transient when the server was overloaded or failing (429, 5xx)."""


# --- clients ---------------------------------------------------------------------------------
# The kubernetes modules and exception classes, set by _client() before anything uses them.
k8s = k8s_config = ApiException = ConfigException = None


def _client() -> None:
    """Import the kubernetes client (once) into this module's names above."""
    global k8s, k8s_config, ApiException, ConfigException
    if k8s is None:
        from kubernetes import client, config
        from kubernetes.client.exceptions import ApiException as api_exception
        from kubernetes.config.config_exception import ConfigException as config_exception

        k8s_config, ApiException, ConfigException, k8s = config, api_exception, config_exception, client


@contextmanager
def kubeconfig_client(text: str, *, context: str | None = None) -> Iterator[k8s.ApiClient]:
    """An ApiClient from kubeconfig text held only in memory; closed when the block ends.

    The client library writes inline client keys and CA data to files (urllib3 needs paths); they
    go to a private temporary folder deleted on exit, so no key outlives the run on disk.
    """
    config = parse_kubeconfig(text, context=context)
    _client()
    folder = tempfile.mkdtemp(prefix="readiness-kube-")
    try:
        configuration = _configuration()
        try:
            api = k8s_config.new_client_from_config_dict(
                config, context=context, persist_config=False, temp_file_path=folder,
                client_configuration=configuration)
        except (ConfigException, ValueError, TypeError, KeyError) as exc:
            reason = _redact(str(exc), config)
            raise KubeconfigError(f"The kubeconfig cannot be used: {reason}") from None
        with api:
            yield api
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def incluster_client() -> Iterator[k8s.ApiClient]:
    """An ApiClient from the pod's service account (token and CA mounted by Kubernetes)."""
    _client()
    configuration = _configuration()
    try:
        k8s_config.load_incluster_config(client_configuration=configuration)
    except ConfigException as exc:
        raise KubeconfigError(f"No in-cluster service account is available here: {exc}") from None
    with k8s.ApiClient(configuration) as api:
        yield api


def _configuration() -> k8s.Configuration:
    _client()
    configuration = k8s.Configuration()
    # Retries live in one place, `_send`, where they are bounded, counted and logged; urllib3's
    # own silent retries would multiply them and hide calls from the count.
    configuration.retries = False
    return configuration


def parse_kubeconfig(text: str, *, context: str | None = None) -> dict:
    """Parse and check kubeconfig text; raise KubeconfigError saying what is wrong.

    Stored kubeconfigs must be self-contained: exec and auth-provider plugins would run commands
    on the worker, and file references would read the worker's own files (its service account
    token, say) and send them to whatever server the kubeconfig names.
    """
    try:
        config = safe_yaml.load(text, name="kubeconfig", limits=KUBECONFIG_LIMITS)
    except safe_yaml.YamlError as exc:
        where = f" (line {exc.line})" if exc.line else ""
        if exc.problem.startswith("not valid YAML"):
            # The YAML error text may quote the offending line, which may hold a token: leave it out.
            raise KubeconfigError(f"The kubeconfig is not valid YAML{where}.") from None
        raise KubeconfigError(f"The kubeconfig cannot be used{where}: {exc.problem}.") from None
    if not isinstance(config, dict) or not isinstance(config.get("contexts"), list):
        raise KubeconfigError("This is not a kubeconfig: expected clusters, users and contexts.")
    name = context or config.get("current-context")
    contexts = _named(config, "contexts")
    if name is not None and not isinstance(name, str):
        raise KubeconfigError("The kubeconfig's current-context must be a string.")
    if not name:
        raise KubeconfigError(f"The kubeconfig has no current-context and none was chosen; "
                              f"contexts: {', '.join(contexts) or 'none'}.")
    if name not in contexts:
        raise KubeconfigError(f"Context {name!r} is not in the kubeconfig; "
                              f"contexts: {', '.join(contexts) or 'none'}.")
    ctx = contexts[name] or {}
    cluster = _pick(config, "clusters", ctx.get("cluster"), name)
    user = _pick(config, "users", ctx.get("user"), name)
    if not cluster.get("server"):
        raise KubeconfigError(f"Cluster {ctx.get('cluster')!r} has no server URL.")
    _check_self_contained(cluster, user, ctx.get("user"))
    return config


def _named(config: dict, section: str) -> dict[str, dict]:
    entries = config.get(section) or []
    key = section[:-1]  # "contexts" -> "context"
    if not isinstance(entries, list):
        raise KubeconfigError(f"The kubeconfig's {section} must be a list.")
    named = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise KubeconfigError(f"Every entry of the kubeconfig's {section} needs a name (a string).")
        value = entry.get(key)
        if value is not None and not isinstance(value, dict):
            raise KubeconfigError(f"The {key} of {section[:-1]} {entry['name']!r} must be a mapping.")
        named[entry["name"]] = value
    return named


def _pick(config: dict, section: str, name: str | None, context: str) -> dict:
    entries = _named(config, section)
    if not isinstance(name, str) or name not in entries:
        raise KubeconfigError(f"Context {context!r} refers to {section[:-1]} {name!r}, "
                              f"which is not in the kubeconfig.")
    return entries[name] or {}


def _check_self_contained(cluster: dict, user: dict, user_name: str | None) -> None:
    for plugin in ("exec", "auth-provider"):
        if plugin in user:
            raise KubeconfigError(f"User {user_name!r} uses an {plugin} plugin, which would run a "
                                  f"command on the worker; use a token or a client certificate.")
    for section, keys in ((cluster, ["certificate-authority"]),
                          (user, ["client-certificate", "client-key", "tokenFile"])):
        for key in keys:
            if key in section:
                raise KubeconfigError(f"{key!r} points to a file on this machine; embed the "
                                      f"content instead ({key}-data or token).")


def _redact(message: str, config: dict) -> str:
    """Remove any credential value of `config` that a library message might quote."""
    for entry in config.get("users") or []:
        user = (entry or {}).get("user") or {}
        for key in ("token", "password", "client-key-data", "client-certificate-data"):
            value = user.get(key)
            if isinstance(value, str) and value:
                message = message.replace(value, "[redacted]")
    return message


# --- collection ------------------------------------------------------------------------------
@dataclass
class CollectStats:
    """What a collection cost; pass one to `collect` to have it filled in."""

    calls: int = 0  # HTTP requests sent, retries and /version included
    retries: int = 0
    pages: dict[str, int] = field(default_factory=dict)  # successful list pages per kind
    objects: dict[str, int] = field(default_factory=dict)  # objects per kind
    elapsed: float = 0.0  # seconds, wall clock


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 3  # attempts after the first one
    backoff: float = 0.5  # seconds before the first retry; doubles each time, with jitter


def collect(api: k8s.ApiClient, kind_ids: Iterable[str], *, source: str = "cluster",
            page_size: int = 500, timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
            retries: int = 3, backoff: float = 0.5,
            stats: CollectStats | None = None) -> Snapshot:
    """List every object of `kind_ids` from the cluster behind `api` into a live Snapshot.

    Costs one request for /version plus ceil(objects / page_size) requests per kind (at least
    one), and more only when the server asks for retries. Raises a CollectError subclass.
    """
    kinds = _kinds(kind_ids)
    stats = stats if stats is not None else CollectStats()
    started = time.monotonic()
    snapshot = Snapshot(source=source, live=True)
    with _no_gc(), _Decoder(api.configuration.host) as decoder:
        session = _Session(api, timeout, RetryPolicy(retries, backoff), stats, decoder)
        snapshot.server_version = session.version()
        listed = [(kind, session.list_all(kind, page_size)) for kind in kinds]
        for kind, pages in listed:
            if pages is None:
                snapshot.missing.add(kind.id)
                continue
            items = snapshot.objects[kind.id] = []
            for page in pages:
                items.extend(page.result())
            stats.objects[kind.id] = len(items)
    stats.elapsed = time.monotonic() - started
    return snapshot


@contextmanager
def _no_gc():
    """The cyclic garbage collector kept off the decoded pages. Decoding makes millions of dicts and
    lists, all kept: with the collector on, each collection walks them again for nothing (a fifth of
    a large cluster's time), and merely disabling it defers that walk to the first collection after.
    So it is off while pages are decoded, and what exists then is frozen (gc.freeze: never scanned,
    still freed by reference counting when the snapshot is dropped). The next collection unfreezes
    the previous one's survivors first, so cyclic garbage waits one run at most, never forever."""
    enabled = gc.isenabled()
    gc.unfreeze()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def collect_cluster(kind_ids: Iterable[str], *, kubeconfig: str | None, context: str | None = None,
                    source: str = "cluster", **options) -> Snapshot:
    """Collect from a stored kubeconfig (decrypted text), or from the in-cluster service account
    when `kubeconfig` is None. `options` are those of `collect`. Raises a CollectError subclass."""
    # `is not None`: an empty stored kubeconfig must fail, not fall back to the worker's account.
    client = kubeconfig_client(kubeconfig, context=context) if kubeconfig is not None else incluster_client()
    with client as api:
        return collect(api, kind_ids, source=source, **options)


def _kinds(kind_ids: Iterable[str]) -> list[Kind]:
    ids = list(dict.fromkeys(kind_ids))  # each kind listed once, in the order asked
    unknown = [k for k in ids if k not in KINDS]
    if unknown:  # a probe declared a kind probes/kinds.py does not know: a programming error
        raise ValueError(f"Unknown kind ids: {', '.join(unknown)}")
    return [KINDS[k] for k in ids]


class _Session:
    """The requests of one collection: paging, retries and the mapping of failures to errors."""

    def __init__(self, api: k8s.ApiClient, timeout, policy: RetryPolicy, stats: CollectStats,
                 decoder: _Decoder):
        _client()  # for ApiException: a client built elsewhere may be handed in
        self.api = api
        self.decoder = decoder
        self.custom = k8s.CustomObjectsApi(api)
        self.timeout = timeout
        self.policy = policy
        self.stats = stats
        self.server = api.configuration.host

    def version(self) -> dict:
        try:
            body = self._send("the server version", lambda: self._get("/version", []))
            version = _parse(body, self.server)
        except ApiException as exc:
            # Nothing that answers 404 on /version is a Kubernetes API server: better said now
            # than as every kind "not installed".
            raise self._error(exc, "the server version") from None
        if type(version) is not dict:
            raise ClusterError(f"{self.server} answered /version with no version: is it a Kubernetes API server?")
        return version

    def list_all(self, kind: Kind, page_size: int) -> list[Future] | None:
        """Every object of `kind`, as the pages' items being decoded (`Future.result()` is a list;
        it raises ClusterError for a page that is not JSON or not a list of objects), or None when
        the server does not serve the kind (no CRD)."""
        try:
            return self._pages(kind, page_size)
        except ApiException as exc:
            if exc.status == 404:
                # A custom kind whose CRD is not installed, or a built-in group/version the
                # cluster does not serve (autoscaling/v2 on an old cluster): "not installed".
                return None
            if exc.status == 410:
                # The continue token expired (a slow or huge list): start the kind over, once.
                logger.info("continue token expired listing %s; listing again", kind.plural)
                try:
                    return self._pages(kind, page_size)
                except ApiException as again:
                    raise self._error(again, _resource(kind)) from None
            raise self._error(exc, _resource(kind)) from None

    def _pages(self, kind: Kind, page_size: int) -> list[Future]:
        pages: list[Future] = []
        token: str | None = None
        self.stats.pages[kind.id] = 0
        while True:
            body = self._send(_resource(kind), lambda: self._page(kind, page_size, token))
            self.stats.pages[kind.id] += 1
            metadata, items = self.decoder.page(body, kind)
            pages.append(items)
            token = metadata.get("continue")
            if not token:
                return pages

    def _page(self, kind: Kind, limit: int, token: str | None) -> bytes:
        if kind.custom:
            response = self.custom.list_cluster_custom_object(
                kind.group, kind.version, kind.plural, limit=limit, _continue=token,
                _preload_content=False, _request_timeout=self.timeout)
            return response.data
        query: list[tuple[str, object]] = [("limit", limit)]
        if token:
            query.append(("continue", token))
        return self._get(_list_path(kind), query)

    def _get(self, path: str, query: list) -> bytes:
        request = self.api.param_serialize(
            "GET", path, query_params=query, header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"])
        response = self.api.call_api(*request, _request_timeout=self.timeout)
        response.read()
        if not 200 <= response.status <= 299:
            raise ApiException.from_response(http_resp=response, body=None, data=None)
        return response.data

    def _send(self, what: str, call: Callable[[], T]) -> T:
        """Run `call`, retrying 429, 5xx and dropped connections with jittered backoff."""
        for attempt in range(self.policy.retries + 1):
            self.stats.calls += 1
            try:
                return call()
            except ApiException as exc:
                if not _retryable(exc) or attempt == self.policy.retries:
                    raise
                delay = _retry_after(exc) or self._backoff(attempt)
                logger.info("%s answered %s for %s; retrying in %.2fs",
                            self.server, exc.status, what, delay)
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                reason = _unwrap(exc)
                if not _is_reset(reason) or attempt == self.policy.retries:
                    raise self._unreachable(reason, what) from None
                delay = self._backoff(attempt)
                logger.info("connection to %s dropped listing %s; retrying", self.server, what)
            self.stats.retries += 1
            time.sleep(delay)
        raise AssertionError("unreachable")  # the loop always returns or raises

    def _backoff(self, attempt: int) -> float:
        # "Equal jitter": at least half the exponential delay, so workers retrying together spread.
        delay = min(MAX_BACKOFF, self.policy.backoff * 2 ** attempt)
        return delay / 2 + random.uniform(0, delay / 2)

    def _error(self, exc: ApiException, what: str) -> CollectError:
        status = exc.status or 0
        said = _status_message(exc)
        if status == 401:
            return ClusterForbidden(
                f"{self.server} rejected the credentials (401 Unauthorized) for {what}: "
                f"the token or client certificate is wrong or expired.")
        if status == 403:
            return ClusterForbidden(
                f"Listing {what} was refused (403 Forbidden): the credentials lack list "
                f"permission on {what}." + (f" The server said: {said}" if said else ""))
        if status == 0:  # the client reports TLS failures this way
            return ClusterUnreachable(f"TLS connection to {self.server} failed: {exc.reason}",
                                      transient=False)
        transient = _retryable(exc)
        tail = " after retries" if transient else ""
        return ClusterError(f"{self.server} answered {status} {exc.reason or ''} for "
                            f"{what}{tail}." + (f" The server said: {said}" if said else ""),
                            transient=transient)

    def _unreachable(self, reason: BaseException, what: str) -> ClusterUnreachable:
        # Order matters: urllib3's NewConnectionError subclasses its ConnectTimeoutError.
        if isinstance(reason, urllib3.exceptions.NameResolutionError):
            problem = "its host name does not resolve"
        elif isinstance(reason, urllib3.exceptions.SSLError):
            return ClusterUnreachable(f"TLS connection to {self.server} failed: {reason}",
                                      transient=False)
        elif isinstance(reason, urllib3.exceptions.NewConnectionError):
            problem = "the connection was refused or the network is unreachable"
        elif isinstance(reason, (urllib3.exceptions.TimeoutError, TimeoutError)):
            problem = "it did not answer in time"
        else:
            problem = f"the connection failed ({type(reason).__name__})"
        return ClusterUnreachable(f"Cannot reach the cluster at {self.server} while listing "
                                  f"{what}: {problem}.")


def _list_path(kind: Kind) -> str:
    prefix = f"/apis/{kind.group}/{kind.version}" if kind.group else f"/api/{kind.version}"
    return f"{prefix}/{kind.plural}"


def _resource(kind: Kind) -> str:
    """How kubectl and RBAC name the resource: "deployments.apps", "nodes"."""
    return f"{kind.plural}.{kind.group}" if kind.group else kind.plural


class _Decoder:
    """List pages decoded on a thread of their own while the next page is on its way.

    Decoding a page holds the interpreter; waiting for the server does not. One after the other,
    the server waits while a page is decoded and the collector waits while the next is sent: a
    third of a large cluster's collection. So the collector reads only the continue token from a
    page (`_list_metadata`), asks for the next page at once, and this thread decodes meanwhile. A
    page whose metadata cannot be read that way is decoded on the spot, as before.
    """

    def __init__(self, server: str):
        self.server = server
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="decode")
        self._waiting: deque[Future] = deque()

    def __enter__(self) -> "_Decoder":
        return self

    def __exit__(self, *exc) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def page(self, body: bytes, kind: Kind) -> tuple[dict, Future]:
        """The page's list metadata now, and its stamped items as they will be decoded."""
        metadata = _list_metadata(body)
        if metadata is None:
            page = _parse(body, self.server)
            items: Future = Future()
            items.set_result(_items(page, kind, self.server))
            return page.get("metadata") or {}, items
        while len(self._waiting) >= DECODE_AHEAD:
            self._waiting.popleft().result()
        items = self._pool.submit(lambda: _items(_parse(body, self.server), kind, self.server))
        self._waiting.append(items)
        return metadata, items


_METADATA = b'"metadata":{'


def _list_metadata(body: bytes) -> dict | None:
    """The list's own metadata, read from the head of the body without decoding the items; None
    when the body does not start that way.

    An API server writes a built-in list as {"kind":...,"apiVersion":...,"metadata":{...},"items":
    [...]}, with flat metadata (resourceVersion, continue, remainingItemCount). The head up to the
    first "}" after "metadata":{ is closed with "}" and decoded: JSON is read left to right, so
    when that parses and the body goes on with "," or "}" there, the head's members are the body's
    first members, exactly as decoding the whole body would give them. Anything else (metadata
    after the items, as custom resource lists have it, nested or spaced metadata) fails one of
    those checks and returns None.
    """
    start = body.find(_METADATA, 0, 512)
    if start < 0:
        return None
    end = body.find(b"}", start + len(_METADATA), start + 4096)
    if end < 0 or body[end + 1:end + 2] not in (b",", b"}"):
        return None
    try:
        head = orjson.loads(body[:end + 1] + b"}")
    except ValueError:
        return None
    metadata = head.get("metadata") if type(head) is dict else None
    return metadata if type(metadata) is dict else None


# Each item a mapping, its metadata a mapping: what the collector and the engine take for granted
# of every object, outside a probe's own guard. An API server answers nothing else; a server that
# answers otherwise fails the collection here, naming the kind and the item, not the worker with a
# Python exception. A field deeper in of the wrong type (labels a list) is left to the probes that
# read it, each reporting its own error: checking every label of every object would cost a sixth
# of the collection (60 ms for the bench cluster's 17,000 objects; this check costs 14 ms).
_LIST = {"items": [{"metadata": shapes.MAPPING}], "metadata": shapes.MAPPING}


def _items(page: dict, kind: Kind, server: str) -> list[dict]:
    problem = shapes.misfit(page, _LIST)
    if problem:
        raise ClusterError(f"{server} listed {kind.kind} objects that are not Kubernetes objects: {problem}")
    return _stamp(page.get("items") or [], kind)


def _stamp(items: list[dict], kind: Kind) -> list[dict]:
    # Lists of built-in kinds leave `kind`/`apiVersion` off each item; probes (and the manifest
    # collector) expect every object to say what it is.
    api_version, kind_name = kind.api_version, kind.kind  # once per page, not once per object
    for item in items:
        if "apiVersion" not in item:
            item["apiVersion"] = api_version
        if "kind" not in item:
            item["kind"] = kind_name
    return items


def _retryable(exc: ApiException) -> bool:
    return exc.status == 429 or 500 <= (exc.status or 0) <= 599


def _retry_after(exc: ApiException) -> float | None:
    value = (exc.headers or {}).get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:  # the HTTP-date form
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _unwrap(exc: BaseException) -> BaseException:
    # A client built elsewhere may keep urllib3's retries: the cause is then inside MaxRetryError.
    while isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        exc = exc.reason
    return exc


def _is_reset(exc: BaseException) -> bool:
    return isinstance(exc, (urllib3.exceptions.ProtocolError, ConnectionResetError,
                            ConnectionAbortedError, BrokenPipeError))


def _parse(data: bytes, server: str) -> dict:
    # orjson: the same values as json.loads for what an API server sends (valid UTF-8, numbers within
    # 64 bits), in a fraction of the time; list pages are most of a collection's work. It refuses
    # NaN and lone surrogates, which json accepts and no API server sends. JSONDecodeError is a
    # ValueError.
    try:
        return orjson.loads(data)
    except ValueError:
        raise ClusterError(f"{server} answered with something that is not JSON: is it a "
                           f"Kubernetes API server?") from None


def _status_message(exc: ApiException) -> str:
    try:
        return str(json.loads(exc.body or "").get("message") or "")[:300]
    except (ValueError, AttributeError):
        return ""
