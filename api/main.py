"""The JSON API under /api/v1/: django-ninja, bearer tokens, one error shape, OpenAPI 3 at openapi.json."""
from ninja import NinjaAPI, Swagger

from api import errors
from api.auth import TokenAuth
from api.endpoints import evidence, gate, items, probes, releases, reports, signoff, templates

DESCRIPTION = """\
Readiness for pipelines: create releases, attach evidence by item key, run probes on rendered
manifests, read sign-off, fetch reports, and ask the deploy gate whether a version may ship.

Authenticate with `Authorization: Bearer rdy_…` (create a token under **API tokens**). A token acts
exactly as its user: what they may not see answers 404, what they may not change 403. Errors are
`{"error": {"code", "message", "details"}}`. `Idempotency-Key` makes creating releases and evidence
safe to retry.
"""

api = NinjaAPI(
    title="Readiness API", version="1", description=DESCRIPTION, urls_namespace="api",
    auth=TokenAuth(), docs=Swagger({"persistAuthorization": False}), docs_url="/docs", openapi_url="/openapi.json",
)
errors.install(api)
for module in (templates, releases, items, evidence, probes, signoff, reports, gate):
    api.add_router("", module.router)
