"""Observability collectors (Prometheus, Alertmanager, Grafana, Loki, Jaeger/Tempo over HTTP) and
the checks that judge what they collect, in the probes' `(input, params) -> Outcome` shape."""
from probes.engine.observability.checks import COLLECTOR_CHECKS, judge_facts, run_collector_check  # noqa: F401
from probes.engine.observability.collectors import COLLECTORS, collect  # noqa: F401
from probes.engine.observability.http import Endpoint  # noqa: F401
