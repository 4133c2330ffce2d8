"""k6 --summary-export JSON and Locust --csv stats, written in their documented formats."""
import json

import pytest

from probes.engine.artifacts import judge_artifact


def k6_summary(p95=212.4, rate=83.2, failed=0.002, count=24960, endpoint_p95=None):
    metrics = {
        "http_req_duration": {"avg": 140.3, "min": 20.1, "med": 120.0, "max": 1400.2, "p(90)": 190.0, "p(95)": p95},
        "http_req_duration{expected_response:true}": {"avg": 139.0, "min": 20.1, "med": 119.0, "max": 1400.2, "p(90)": 189.0, "p(95)": p95},
        "http_reqs": {"count": count, "rate": rate},
        "http_req_failed": {"passes": int(count * failed), "fails": count - int(count * failed), "value": failed,
                            "thresholds": {"rate<0.01": False}},
        "iterations": {"count": count, "rate": rate},
        "vus_max": {"value": 50, "min": 50, "max": 50},
    }
    if endpoint_p95 is not None:
        metrics["http_req_duration{name:POST /tasks}"] = {"avg": 300.0, "min": 50, "med": 280, "max": 2000, "p(90)": 500, "p(95)": endpoint_p95}
    return json.dumps({"root_group": {"name": "", "path": "", "groups": {}, "checks": {}}, "metrics": metrics}).encode()


LOCUST_HEADER = ("Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,"
                 "Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%")


def locust_stats(tasks_p95=320, agg_p95=310, failures=3, rate=151.7):
    rows = [
        LOCUST_HEADER,
        f"GET,/tasks,9000,{failures},120,150.2,12,2100,512,101.2,0.03,120,150,180,200,260,{tasks_p95},400,520,900,1500,2100",
        "POST,/tasks,4500,0,140,170.9,15,1800,256,50.5,0.0,140,170,200,220,280,300,420,560,1000,1700,1800",
        f",Aggregated,13500,{failures},130,157.1,12,2100,426,{rate},0.03,130,160,190,210,270,{agg_p95},410,540,950,1600,2100",
    ]
    return ("\n".join(rows) + "\n").encode()


def test_k6_p95_under_the_sla_passes_and_over_it_fails():
    assert judge_artifact("artifact.loadtest.p95", k6_summary(), "summary.json", {}).status == "pass"
    outcome = judge_artifact("artifact.loadtest.p95", k6_summary(p95=612.0), "summary.json", {})
    assert outcome.status == "fail" and "p95 612 ms is not under the SLA of 500 ms" in outcome.summary


def test_a_k6_endpoint_over_the_sla_is_named_even_when_the_total_is_fine():
    outcome = judge_artifact("artifact.loadtest.p95", k6_summary(endpoint_p95=740.0), "summary.json", {})
    assert outcome.status == "fail" and outcome.findings[0].object == "summary.json:name:POST /tasks"


def test_locust_stats_are_judged_per_endpoint_and_aggregated():
    assert judge_artifact("artifact.loadtest.p95", locust_stats(), "run_stats.csv", {}).status == "pass"
    outcome = judge_artifact("artifact.loadtest.p95", locust_stats(tasks_p95=650), "run_stats.csv", {})
    assert outcome.status == "fail" and outcome.findings[0].object == "run_stats.csv:GET /tasks"
    assert outcome.observed["tool"] == "locust" and outcome.observed["requests"] == 13500


def test_the_peak_needs_the_normal_rate_and_twice_it_reached():
    assert judge_artifact("artifact.loadtest.peak", k6_summary(), "s.json", {}).observed["error"] == "params"
    assert judge_artifact("artifact.loadtest.peak", k6_summary(rate=83.2), "s.json", {"normal_rps": 40}).status == "pass"
    short = judge_artifact("artifact.loadtest.peak", k6_summary(rate=61.0), "s.json", {"normal_rps": 40})
    assert short.status == "fail" and "achieved 61.0 req/s; the peak is 80 req/s (2 x 40)" in short.summary
    assert judge_artifact("artifact.loadtest.peak", locust_stats(rate=151.7), "s.csv", {"normal_rps": 50, "peak_factor": 3}).status == "pass"


def test_errors_above_the_budget_are_not_satisfactory():
    outcome = judge_artifact("artifact.loadtest.satisfactory", k6_summary(failed=0.04), "s.json", {})
    assert outcome.status == "fail" and "4.00% of requests failed; at most 1.00% allowed" in outcome.summary
    assert judge_artifact("artifact.loadtest.satisfactory", locust_stats(failures=500), "s.csv", {}).status == "fail"
    assert judge_artifact("artifact.loadtest.satisfactory", locust_stats(), "s.csv", {}).status == "pass"


def test_a_run_of_no_requests_was_not_performed():
    outcome = judge_artifact("artifact.loadtest.performed", k6_summary(count=0, rate=0.0), "s.json", {})
    assert outcome.status == "fail"
    assert judge_artifact("artifact.loadtest.performed", locust_stats(), "s.csv", {}).summary == "locust ran 13500 requests at 151.7 req/s"


@pytest.mark.parametrize("data, message", [
    (LOCUST_HEADER.encode() + b"\nGET,/x,1,0,1,1,1,1,1,1,0,1,1,1,1,1,1,1,1,1,1,1\n", "no Aggregated row"),
    (b"Type,Name,Count\n,Aggregated,3\n", "needs the column(s)"),
])
def test_locust_files_missing_what_is_judged_are_refused(data, message):
    outcome = judge_artifact("artifact.loadtest.p95", data, "stats.csv", {})
    assert outcome.status == "error" and message in outcome.summary
