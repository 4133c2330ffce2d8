from checklists.models.audit import AuditEvent
from checklists.models.evidence import Comment, Evidence, Waiver
from checklists.models.releases import ItemOverride, Release, ReleaseItem
from checklists.models.signoff import Approval, Report, SignoffRequirement
from checklists.models.teams import Membership, Role, Team
from checklists.models.templates import ChecklistTemplate, Severity, TemplateItem, TemplateSection, TemplateVersion

__all__ = [
    "Approval",
    "AuditEvent",
    "ChecklistTemplate",
    "Comment",
    "Evidence",
    "ItemOverride",
    "Membership",
    "Release",
    "ReleaseItem",
    "Report",
    "Role",
    "Severity",
    "SignoffRequirement",
    "Team",
    "TemplateItem",
    "TemplateSection",
    "TemplateVersion",
    "Waiver",
]
