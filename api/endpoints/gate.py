"""GET /api/v1/gate/<service>/<version>?environment=ENV: 200 may ship, 409 may not (every reason)."""
import datetime
from typing import Any

from django.db import transaction
from ninja import Field, Query, Router, Schema, Status

from api import gate
from api.auth import audited, token_of
from api.errors import responses

router = Router(tags=["deploy gate"])


class GateParams(Schema):
    environment: str = Field("production", min_length=1, max_length=50)
    dry_run: bool = Field(False, description="Answer 200 whatever the verdict (for teams adopting the gate).")


class Reason(Schema):
    code: str
    message: str
    items: list[str] = Field(description=f"Keys of the items behind the reason (at most {gate.MAX_LISTED}).")
    count: int = Field(description="How many items in all.")


class Decision(Schema):
    requirement: str
    approver: str
    at: datetime.datetime
    state_hash: str


class ApprovalOut(Schema):
    approved_at: datetime.datetime | None
    state_hash: str
    approvals: list[Decision]
    report: dict[str, Any] | None


class GateOut(Schema):
    allowed: bool
    dry_run: bool
    service: str
    version: str
    environment: str
    release: int | None
    state: str | None
    checked_at: datetime.datetime
    reasons: list[Reason]
    approval: ApprovalOut | None


class GateRefusal(Schema):
    error: dict[str, Any]
    gate: GateOut


@router.get("/gate/{service}/{version}", response=responses({200: GateOut, 409: GateRefusal}),
            summary="May this version ship? 200 with the approval, or 409 with every reason")
def gate_check(request, service: str, version: str, params: Query[GateParams]):
    verdict = gate.gate_verdict(user=request.user, service=service, version=version,
                                environment=params.environment)
    with transaction.atomic(), audited(request):
        gate.gate_record(verdict, by=request.user, token=token_of(request), dry_run=params.dry_run)
    out = {
        "allowed": verdict.allowed, "dry_run": params.dry_run, "service": service, "version": version,
        "environment": params.environment, "release": verdict.release.pk if verdict.release else None,
        "state": verdict.release.state if verdict.release else None, "checked_at": verdict.checked_at,
        "reasons": verdict.reasons, "approval": verdict.approval,
    }
    if verdict.allowed or params.dry_run:
        return Status(200, out)
    codes = ", ".join(r["code"] for r in verdict.reasons)
    return Status(409, {"error": {"code": "gate_closed", "message": f"{service} {version} may not ship to "
                           f"{params.environment}: {codes}.", "details": verdict.reasons}, "gate": out})
