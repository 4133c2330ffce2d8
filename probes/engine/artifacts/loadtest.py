"""Load-test results: k6 `--summary-export` JSON and Locust `--csv` stats, against the SLA and the peak."""
import csv
import io
from dataclasses import dataclass, field

from probes.engine.artifacts.base import Artifact, ArtifactError, artifact_check
from probes.engine.artifacts.readers import number, read_json, read_text
from probes.engine.outcome import Finding, Outcome, ParamsError


@dataclass(frozen=True)
class Endpoint:
    name: str
    requests: int
    p95_ms: float | None
    error_rate: float | None


@dataclass
class LoadTest:
    tool: str  # "k6" or "locust"
    requests: int
    rate: float | None  # achieved requests per second over the run
    p95_ms: float | None
    error_rate: float | None  # 0..1
    endpoints: list[Endpoint] = field(default_factory=list)


def read_loadtest(artifact: Artifact) -> LoadTest:
    head = artifact.data.lstrip()[:1]
    if head == b"{":
        return _k6(artifact)
    text = read_text(artifact, "a Locust stats CSV")
    if text.lstrip().startswith(("Type,", '"Type",')):
        return _locust(artifact, text)
    raise ArtifactError("wrong-format", f"{artifact.filename}: neither a k6 summary (JSON) nor a Locust stats CSV")


def _values(metric) -> dict:
    """k6's --summary-export keeps values on the metric; handleSummary's data nests them in `values`."""
    if not isinstance(metric, dict):
        return {}
    return metric.get("values") if isinstance(metric.get("values"), dict) else metric


def _k6(artifact: Artifact) -> LoadTest:
    data = read_json(artifact, "a k6 summary")
    metrics = data.get("metrics") if isinstance(data, dict) else None
    if not isinstance(metrics, dict) or "http_reqs" not in metrics:
        raise ArtifactError("wrong-format", f"{artifact.filename}: not a k6 summary with HTTP metrics (no metrics.http_reqs)")
    reqs = _values(metrics["http_reqs"])
    duration = _values(metrics.get("http_req_duration"))
    failed = _values(metrics.get("http_req_failed")) if "http_req_failed" in metrics else None
    endpoints = []
    for key, metric in metrics.items():
        # Sub-metrics k6 keeps for thresholds: http_req_duration{name:GET /tasks}
        if key.startswith("http_req_duration{") and not key.startswith("http_req_duration{expected_response"):
            endpoints.append(Endpoint(key[len("http_req_duration{"):-1], 0, number(_values(metric).get("p(95)")), None))
    return LoadTest("k6", int(number(reqs.get("count"), 0)), number(reqs.get("rate")), number(duration.get("p(95)")),
                    None if failed is None else number(failed.get("value", failed.get("rate"))), endpoints)


def _locust(artifact: Artifact, text: str) -> LoadTest:
    reader = csv.DictReader(io.StringIO(text))
    needed = {"Name", "Request Count", "Failure Count", "Requests/s", "95%"}
    missing = needed - set(reader.fieldnames or [])
    if missing:
        raise ArtifactError("wrong-format", f"{artifact.filename}: a Locust stats CSV needs the column(s) {', '.join(sorted(missing))}")
    total, endpoints = None, []
    try:
        for row in reader:
            requests, failures = int(number(row["Request Count"], 0)), int(number(row["Failure Count"], 0))
            endpoint = Endpoint(f"{row.get('Type') or ''} {row['Name']}".strip(), requests, number(row["95%"]),
                                failures / requests if requests else None)
            if row["Name"] == "Aggregated":
                total = (endpoint, number(row["Requests/s"]), failures)
            else:
                endpoints.append(endpoint)
    except csv.Error as exc:
        raise ArtifactError("malformed", f"{artifact.filename}: line {reader.line_num}: {exc}") from None
    if total is None:
        raise ArtifactError("wrong-format", f"{artifact.filename}: no Aggregated row; use the PREFIX_stats.csv Locust writes with --csv")
    endpoint, rate, _ = total
    return LoadTest("locust", endpoint.requests, rate, endpoint.p95_ms, endpoint.error_rate, endpoints)


@dataclass(frozen=True)
class LoadParams:
    sla_ms: float = 500.0  # the 95th percentile response time must be under this (the seed: <500ms p95)
    max_error_rate: float = 0.01  # failed requests over all requests, 0..1
    normal_rps: float | None = None  # the service's normal load in requests/s: the peak is this times peak_factor
    peak_factor: float = 2.0  # the seed: expected peak load is 2x normal
    min_requests: int = 1

    def __post_init__(self):
        if self.sla_ms <= 0:
            raise ParamsError("param sla_ms: must be above 0")
        if not 0 <= self.max_error_rate <= 1:
            raise ParamsError(f"param max_error_rate: a fraction from 0 to 1 (0.01 is 1%), not {self.max_error_rate}")
        if self.normal_rps is not None and self.normal_rps <= 0:
            raise ParamsError("param normal_rps: must be above 0")
        if self.peak_factor < 1:
            raise ParamsError("param peak_factor: must be at least 1")
        if self.min_requests < 1:
            raise ParamsError("param min_requests: must be at least 1")


def _observed(t: LoadTest) -> dict:
    return {"tool": t.tool, "requests": t.requests, "rate": t.rate, "p95_ms": t.p95_ms, "error_rate": t.error_rate}


def _problems(artifact: Artifact, t: LoadTest, p: LoadParams, *, latency=False, errors=False, peak=False) -> list[Finding]:
    name = artifact.filename
    out = []
    if t.requests < p.min_requests:
        out.append(Finding(name, "requests", f"{t.requests} request(s) made; at least {p.min_requests} needed"))
    if latency:
        if t.p95_ms is None:
            out.append(Finding(name, "http_req_duration.p(95)", "the summary has no 95th percentile (k6: keep p(95) in --summary-trend-stats)"))
        elif t.p95_ms >= p.sla_ms:
            out.append(Finding(name, "http_req_duration.p(95)", f"p95 {t.p95_ms:.0f} ms is not under the SLA of {p.sla_ms:g} ms"))
        out += [Finding(f"{name}:{e.name}", "p95", f"p95 {e.p95_ms:.0f} ms is not under the SLA of {p.sla_ms:g} ms")
                for e in t.endpoints if e.p95_ms is not None and e.p95_ms >= p.sla_ms]
    if errors:
        if t.error_rate is None:
            out.append(Finding(name, "http_req_failed", "the summary has no error rate (k6 0.31+ reports http_req_failed)"))
        elif t.error_rate > p.max_error_rate:
            out.append(Finding(name, "http_req_failed", f"{t.error_rate:.2%} of requests failed; at most {p.max_error_rate:.2%} allowed"))
    if peak:
        target = p.normal_rps * p.peak_factor
        if t.rate is None or t.rate < target:
            achieved = "no rate" if t.rate is None else f"{t.rate:.1f} req/s"
            out.append(Finding(name, "http_reqs.rate", f"achieved {achieved}; the peak is {target:g} req/s ({p.peak_factor:g} x {p.normal_rps:g})"))
    return out


def _verdict(findings, ok: str, t: LoadTest) -> Outcome:
    if findings:
        return Outcome("fail", f"{len(findings)} problem(s) in the {t.tool} results: {findings[0].message}", findings, observed=_observed(t))
    return Outcome("pass", ok, observed=_observed(t))


def _need_peak(p: LoadParams) -> None:
    if p.normal_rps is None:
        raise ArtifactError("params", "the check needs the service's normal load: set param normal_rps (requests/s) on the item")


@artifact_check(
    "artifact.loadtest.performed",
    "A load test was run",
    format="loadtest",
    params=LoadParams,
    items=["load-testing.load-tests-are-performed-k6-locust-jmeter", "testing.performance-tests-run-regularly"],
)
def performed(artifact: Artifact, p: LoadParams) -> Outcome:
    """The k6 summary or Locust stats show a run of at least `min_requests` requests."""
    t = read_loadtest(artifact)
    rate = f" at {t.rate:.1f} req/s" if t.rate is not None else ""
    return _verdict(_problems(artifact, t, p), f"{t.tool} ran {t.requests} requests{rate}", t)


@artifact_check(
    "artifact.loadtest.p95",
    "Response times meet the SLA",
    format="loadtest",
    params=LoadParams,
    items=["load-testing.response-times-meet-sla-500ms-p95"],
)
def p95_under_sla(artifact: Artifact, p: LoadParams) -> Outcome:
    """The 95th percentile of response time, overall and for each endpoint the results break out,
    is under `sla_ms`."""
    t = read_loadtest(artifact)
    return _verdict(_problems(artifact, t, p, latency=True), f"p95 {t.p95_ms or 0:.0f} ms is under {p.sla_ms:g} ms over {t.requests} requests", t)


@artifact_check(
    "artifact.loadtest.peak",
    "The system handles the expected peak load",
    format="loadtest",
    params=LoadParams,
    items=["load-testing.system-handles-expected-peak-load-2x-normal"],
)
def peak_load(artifact: Artifact, p: LoadParams) -> Outcome:
    """The achieved request rate reaches `normal_rps` x `peak_factor` (2x by default), with the error
    rate at most `max_error_rate` and p95 under `sla_ms` at that load. Needs `normal_rps`."""
    _need_peak(p)
    t = read_loadtest(artifact)
    return _verdict(_problems(artifact, t, p, latency=True, errors=True, peak=True),
                    f"{t.rate or 0:.1f} req/s reached (peak {p.normal_rps * p.peak_factor:g}) with p95 {t.p95_ms or 0:.0f} ms", t)


@artifact_check(
    "artifact.loadtest.satisfactory",
    "The load test's results are satisfactory",
    format="loadtest",
    params=LoadParams,
    items=["pre-production-checklist.load-testing-completed-with-satisfactory-results"],
)
def satisfactory(artifact: Artifact, p: LoadParams) -> Outcome:
    """p95 under `sla_ms` and an error rate of at most `max_error_rate`; and, when `normal_rps` is
    given, the peak rate reached too."""
    t = read_loadtest(artifact)
    findings = _problems(artifact, t, p, latency=True, errors=True, peak=p.normal_rps is not None)
    peak = "" if p.normal_rps is None else f", peak {p.normal_rps * p.peak_factor:g} req/s reached"
    return _verdict(findings, f"p95 {t.p95_ms or 0:.0f} ms, {t.error_rate or 0:.2%} errors{peak}", t)
