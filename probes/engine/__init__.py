"""The probe engine: pure functions over plain data, no Django. A snapshot of Kubernetes objects
(snapshot.py, read from manifests by manifests.py) is judged by the catalogue's probes, a CI artifact by
the artifact checks, facts from observability APIs by the collector checks; each returns an Outcome
(outcome.py). evaluate.py runs the bound probes, registry.py finds any check by id, formats.py writes
results for CI (text, JSON, JUnit, SARIF). The Django app around it (models, runs, pages) is probes/."""
