"""Collectors: read the facts the checks judge from each system's HTTP API.

Each `collect_<kind>(client)` returns a small JSON-able dict of facts; the checks never call the
network. A response of the wrong shape is a `BadResponse` naming the endpoint, the path and the
field: every field a collector reads has its type declared below, as the system's API documents it
(see probes/engine/shapes.py), so that an endpoint answering otherwise, by mistake or on purpose, is
an error result rather than an exception in the worker. Configurations the systems return as YAML
are read with the project's budgeted loader: aliases can make a small answer a huge or endless one.
"""
import json
import time

from probes.engine.observability.http import BadResponse, Client
from probes.engine.shapes import ANY, MAPPING, SCALAR, STRING, misfit
from readiness import safe_yaml

LOG_SAMPLE = 20  # recent lines read per service
TRACE_SAMPLE = 20  # recent traces read per service
MAX_SERVICES = 50  # services sampled in Loki and Jaeger; more are counted, not read

PROMETHEUS_RULES = {"groups": [{"name": STRING, "rules": [{"name": STRING, "type": STRING, "query": STRING, "health": STRING}]}]}
PROMETHEUS_FLAGS = {ANY: SCALAR}
PROMETHEUS_TARGETS = {"activeTargets": [{"labels": {ANY: STRING}, "health": STRING, "lastError": STRING}]}
PROMETHEUS_MANAGERS = {"activeAlertmanagers": [{"url": STRING}]}
NAMES = [SCALAR]
ALERTMANAGER_ROUTE = {"receiver": STRING}
ALERTMANAGER_ROUTE["routes"] = [ALERTMANAGER_ROUTE]  # a routing tree: routes nest
ALERTMANAGER_CONFIG = {"receivers": [{"name": SCALAR}], "route": ALERTMANAGER_ROUTE}
GRAFANA = {"/api/datasources": [{"name": STRING, "type": STRING}], "/api/search": [{"title": STRING}],
           "/api/v1/provisioning/alert-rules": [{"title": STRING}]}
LOKI_CONFIG = {"limits_config": {"retention_period": SCALAR}, "compactor": {"retention_enabled": SCALAR}}
LOKI_STREAMS = {"result": [{"values": [[STRING]]}]}
JAEGER_SERVICES = {"data": [SCALAR]}
JAEGER_TRACES = {"data": [{"traceID": SCALAR, "processes": {ANY: {"serviceName": STRING}}}]}


def _where(client: Client, path: str) -> str:
    return f"{client.endpoint.kind} at {client.endpoint.url} ({path})"


def _fits(client: Client, path: str, answer, shape) -> None:
    problem = misfit(answer, shape)
    if problem:
        raise BadResponse(f"{_where(client, path)}: {problem}")


def _prom_data(client: Client, path: str, params: dict | None = None, *, shape=MAPPING):
    """The `data` of a Prometheus-style {"status": "success", "data": ...} answer, of `shape`."""
    body = client.get_json(path, params)
    if not isinstance(body, dict) or body.get("status") != "success" or "data" not in body:
        raise BadResponse(f"{_where(client, path)}: not a Prometheus API answer (no status: success)")
    _fits(client, path, body, {"data": shape})
    return body.get("data")


def _yaml(client: Client, path: str, text, what: str, shape) -> dict:
    try:
        config = safe_yaml.load(text, name=what) or {}
    except safe_yaml.YamlError as exc:
        raise BadResponse(f"{_where(client, path)}: {what} is not YAML we read ({exc})") from None
    if not isinstance(config, dict):
        raise BadResponse(f"{_where(client, path)}: {what} is not a mapping")
    _fits(client, path, config, shape)
    return config


def collect_prometheus(client: Client) -> dict:
    """Rules (alerting and recording, by name and expression), the retention flag, active targets by
    job/service with their health, attached Alertmanagers, and metric names."""
    rules_data = _prom_data(client, "/api/v1/rules", shape=PROMETHEUS_RULES)
    rules = []
    for group in (rules_data or {}).get("groups") or []:
        for rule in group.get("rules") or []:
            rules.append({"group": group.get("name", ""), "name": rule.get("name", ""), "type": rule.get("type", ""),
                          "expr": rule.get("query", ""), "health": rule.get("health", "")})
    flags = _prom_data(client, "/api/v1/status/flags", shape=PROMETHEUS_FLAGS)
    if not isinstance(flags, dict):
        raise BadResponse(f"{_where(client, '/api/v1/status/flags')}: flags are not a mapping")
    targets = []
    for target in (_prom_data(client, "/api/v1/targets", {"state": "active"}, shape=PROMETHEUS_TARGETS) or {}).get("activeTargets") or []:
        labels = target.get("labels") or {}
        targets.append({"job": labels.get("job", ""), "service": labels.get("service") or labels.get("job", ""),
                        "namespace": labels.get("namespace", ""), "instance": labels.get("instance", ""),
                        "health": target.get("health", "unknown"), "error": (target.get("lastError") or "")[:200]})
    managers = _prom_data(client, "/api/v1/alertmanagers", shape=PROMETHEUS_MANAGERS) or {}
    names = _prom_data(client, "/api/v1/label/__name__/values", shape=NAMES)
    return {
        "rules": rules,
        "retention_time": flags.get("storage.tsdb.retention.time", ""),
        "retention_size": flags.get("storage.tsdb.retention.size", ""),
        "targets": targets,
        "alertmanagers": [m.get("url", "") for m in managers.get("activeAlertmanagers") or []],
        "metric_names": [n for n in names or [] if isinstance(n, str)],
    }


INTEGRATIONS = {
    "email_configs": "email", "slack_configs": "slack", "pagerduty_configs": "pagerduty", "opsgenie_configs": "opsgenie",
    "webhook_configs": "webhook", "msteams_configs": "msteams", "msteamsv2_configs": "msteams", "telegram_configs": "telegram",
    "victorops_configs": "victorops", "pushover_configs": "pushover", "discord_configs": "discord", "sns_configs": "sns",
    "wechat_configs": "wechat", "webex_configs": "webex", "jira_configs": "jira", "rocketchat_configs": "rocketchat",
}


def collect_alertmanager(client: Client) -> dict:
    """Receivers with their integration kinds, and the receivers the routing tree sends to, from the
    running configuration (/api/v2/status); secrets in it are never kept."""
    status = client.get_json("/api/v2/status")
    if not isinstance(status, dict):
        raise BadResponse(f"{_where(client, '/api/v2/status')}: not an Alertmanager answer")
    _fits(client, "/api/v2/status", status, {"config": {"original": STRING}})
    original = (status.get("config") or {}).get("original")
    if not isinstance(original, str):
        raise BadResponse(f"{_where(client, '/api/v2/status')}: no config.original in the answer")
    config = _yaml(client, "/api/v2/status", original, "config.original", ALERTMANAGER_CONFIG)
    receivers = {}
    for receiver in config.get("receivers") or []:
        kinds = sorted({kind for key, kind in INTEGRATIONS.items() if receiver.get(key)})
        receivers[str(receiver.get("name", ""))] = kinds
    routed, stack = [], [config.get("route") or {}]
    while stack:
        route = stack.pop()
        if route.get("receiver"):
            routed.append(str(route["receiver"]))
        stack.extend(route.get("routes") or [])
    return {"receivers": receivers, "routed": sorted(set(routed))}


def collect_grafana(client: Client, *, try_default_admin: bool = False) -> dict:
    """Data sources (name, type), dashboard titles, alert rule titles, and whether admin/admin logs in."""
    sources = client.get_json("/api/datasources")
    dashboards = client.get_json("/api/search", {"type": "dash-db", "limit": 5000})
    rules = client.get_json("/api/v1/provisioning/alert-rules")
    for path, value in (("/api/datasources", sources), ("/api/search", dashboards), ("/api/v1/provisioning/alert-rules", rules)):
        if not isinstance(value, list):
            raise BadResponse(f"{_where(client, path)}: expected a list")
        _fits(client, path, {"answer": value}, {"answer": GRAFANA[path]})
    facts = {
        "datasources": [{"name": s.get("name", ""), "type": s.get("type", "")} for s in sources if isinstance(s, dict)],
        "dashboards": [d.get("title", "") for d in dashboards if isinstance(d, dict)],
        "alert_rules": [r.get("title", "") for r in rules if isinstance(r, dict)],
        "default_admin": None,
    }
    if try_default_admin:
        status, _ = client.get("/api/user", auth=("admin", "admin"))
        facts["default_admin"] = status == 200
    return facts


def collect_loki(client: Client, *, service_label: str = "service", sample: int = LOG_SAMPLE, since: str = "1h") -> dict:
    """Retention from the running config (/config), and the most recent lines of each service
    (`service_label` values, up to MAX_SERVICES) for the log-format checks."""
    status, body = client.get("/config")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadResponse(f"{_where(client, '/config')}: the configuration is not UTF-8 text") from None
    config = _yaml(client, "/config", text, "the configuration", LOKI_CONFIG)
    limits = config.get("limits_config") or {}
    compactor = config.get("compactor") or {}
    services = _prom_data(client, f"/loki/api/v1/label/{service_label}/values", {"since": since}, shape=NAMES) or []
    lines: dict[str, list[str]] = {}
    for service in services[:MAX_SERVICES]:
        query = '{%s="%s"}' % (service_label, str(service).replace("\\", "\\\\").replace('"', '\\"'))
        data = _prom_data(client, "/loki/api/v1/query_range", {"query": query, "limit": sample, "direction": "backward", "since": since},
                          shape=LOKI_STREAMS)
        values = [v[1] for stream in (data or {}).get("result") or [] for v in stream.get("values") or [] if len(v) >= 2]
        lines[str(service)] = values[:sample]
    return {
        "retention_period": str(limits.get("retention_period") or ""),
        "retention_enabled": bool(compactor.get("retention_enabled")),
        "services": [str(s) for s in services],
        "lines": lines,
    }


def collect_jaeger(client: Client, *, sample: int = TRACE_SAMPLE, lookback: str = "1h") -> dict:
    """Services with spans, and for each sampled trace the services it crosses."""
    body = client.get_json("/api/services")
    if not isinstance(body, dict) or not isinstance(body.get("data"), (list, type(None))):
        raise BadResponse(f"{_where(client, '/api/services')}: not a Jaeger answer (no data list)")
    _fits(client, "/api/services", body, JAEGER_SERVICES)
    services = [s for s in body.get("data") or [] if isinstance(s, str)]
    crossings = []
    for service in services[:MAX_SERVICES]:
        traces = client.get_json("/api/traces", {"service": service, "limit": sample, "lookback": lookback})
        if not isinstance(traces, dict):
            raise BadResponse(f"{_where(client, '/api/traces')}: not a Jaeger answer")
        _fits(client, "/api/traces", traces, JAEGER_TRACES)
        for trace in traces.get("data") or []:
            names = sorted({(p or {}).get("serviceName", "") for p in (trace.get("processes") or {}).values()})
            crossings.append({"trace": trace.get("traceID", ""), "services": names})
    return {"services": services, "traces": crossings}


def collect_tempo(client: Client) -> dict:
    """Services with spans, from Tempo's tag values of service.name (no per-trace crossings)."""
    body = client.get_json("/api/search/tag/service.name/values")
    if not isinstance(body, dict) or not isinstance(body.get("tagValues"), list):
        raise BadResponse(f"{_where(client, '/api/search/tag/service.name/values')}: not a Tempo answer (no tagValues)")
    # Tempo 1 lists names, Tempo 2 {"type": "string", "value": name}; anything else names nothing.
    services = [v if isinstance(v, str) else str(v.get("value") or "") if isinstance(v, dict) else "" for v in body["tagValues"]]
    return {"services": services, "traces": None}


COLLECTORS = {
    "prometheus": collect_prometheus,
    "alertmanager": collect_alertmanager,
    "grafana": collect_grafana,
    "loki": collect_loki,
    "jaeger": collect_jaeger,
    "tempo": collect_tempo,
}
# Which facts a check reads: tracing checks accept either tracing backend.
SOURCES = {"tracing": ("jaeger", "tempo")}


def collect(endpoint, **options) -> dict:
    """Facts from one endpoint, with `collected_at` (epoch seconds) and the number of HTTP calls."""
    client = Client(endpoint)
    try:
        facts = COLLECTORS[endpoint.kind](client, **options)
    finally:
        client.close()
    facts["collected_at"] = time.time()
    facts["calls"] = client.calls
    facts["endpoint"] = endpoint.url
    return facts


def line_json(line: str) -> dict | None:
    try:
        value = json.loads(line)
    except (json.JSONDecodeError, TypeError):
        return None
    return value if isinstance(value, dict) else None
