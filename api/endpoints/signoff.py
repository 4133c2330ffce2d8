"""Sign-off, read only: what blocks it, the requirements and their decisions (deciding stays in the browser)."""
import datetime

from ninja import Router, Schema

from api.endpoints.releases import release_for
from api.errors import responses
from api.pagination import Id
from checklists.signoff import services as signoff

router = Router(tags=["sign-off"])


class BlockerOut(Schema):
    key: str
    reason: str


class BlockersOut(Schema):
    incomplete: list[BlockerOut]
    stale: list[BlockerOut]
    no_requirements: bool


class DecisionOut(Schema):
    approver: str
    decision: str
    comment: str
    state_hash: str
    at: datetime.datetime
    superseded_at: datetime.datetime | None
    superseded_reason: str


class RequirementOut(Schema):
    name: str
    role: str | None
    team: str | None
    sections: list[str]
    decision: DecisionOut | None
    history: list[DecisionOut]


class SignoffOut(Schema):
    release: int
    state: str
    drifted: bool
    state_hash: str
    blockers: BlockersOut
    requirements: list[RequirementOut]


def decision_out(approval) -> dict:
    return {"approver": approval.approver.get_username(), "decision": approval.decision, "comment": approval.comment,
            "state_hash": approval.state_hash, "at": approval.created_at, "superseded_at": approval.superseded_at,
            "superseded_reason": approval.superseded_reason}


def blockers_out(blockers) -> dict:
    return {"incomplete": [{"key": b.key, "reason": b.reason} for b in blockers.incomplete],
            "stale": [{"key": b.key, "reason": b.reason} for b in blockers.stale],
            "no_requirements": blockers.no_requirements}


@router.get("/releases/{release_id}/signoff", response=responses({200: SignoffOut}),
            summary="Sign-off requirements, decisions and blockers")
def signoff_read(request, release_id: Id):
    release = release_for(request, release_id)
    rows = signoff.requirement_rows(release, request.user)
    return {
        "release": release.pk, "state": release.state, "drifted": release.drifted,
        "state_hash": signoff.release_state_hash(release),
        "blockers": blockers_out(signoff.signoff_blockers(release)),
        "requirements": [{
            "name": row["requirement"].name, "role": row["requirement"].role or None,
            "team": row["requirement"].team.slug if row["requirement"].team else None,
            "sections": [s.key for s in row["requirement"].sections.all()],
            "decision": decision_out(row["live"]) if row["live"] else None,
            "history": [decision_out(a) for a in row["history"]],
        } for row in rows],
    }
