"""A release's checklist as CSV (for spreadsheets) and as Markdown with its ticks (loss-free: it imports
back as a template with the same keys). Reads only; a fixed number of queries."""
import csv
import io

from django.db.models import Count

from checklists import checklist_markdown as markdown
from checklists.models import ReleaseItem
from checklists.services.templates import version_to_checklist

CSV_COLUMNS = ["section", "key", "parent_key", "text", "status", "required", "severity", "owner_team", "assignee",
               "due_date", "evidence", "comments", "probe", "probe_status", "changed_at"]
TICKED = {ReleaseItem.Status.DONE, ReleaseItem.Status.NOT_APPLICABLE, ReleaseItem.Status.WAIVED}


def _items(release):
    return list(release.items.select_related("section", "owner_team", "assignee")
                .annotate(evidence_total=Count("evidence", distinct=True), comment_total=Count("comments", distinct=True))
                .order_by("order"))


def _person(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else ""


def release_csv(release) -> str:
    """One row per item. Costs one query."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for item in _items(release):
        writer.writerow([
            item.section.title, item.key, item.parent_key, _safe(item.text), item.get_status_display(),
            "yes" if item.required else "no", item.get_severity_display(),
            item.owner_team.name if item.owner_team else "", _person(item.assignee),
            item.due_date.isoformat() if item.due_date else "", item.evidence_total, item.comment_total,
            item.probe_id, item.probe_status, item.changed_at.isoformat(timespec="seconds"),
        ])
    return out.getvalue()


def _safe(text: str) -> str:
    # A cell starting with = + - @ is a formula to a spreadsheet: keep it text.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def release_markdown(release) -> str:
    """The checklist with [x] on done, not-applicable and waived items and a line of status under each.
    Costs 3 queries."""
    checklist = version_to_checklist(release.template_version)
    checklist.title = f"{checklist.title} — {release.service} {release.version} ({release.environment})"
    items = {item.key: item for item in _items(release)}
    for item, _ in checklist.walk_items():
        if item.key in items:
            item.text = items[item.key].text
    ticks = {key: item.status in TICKED for key, item in items.items()}
    notes = {key: f"> {item.get_status_display()} · owner {item.owner_team.name if item.owner_team else 'none'}"
                  f" · assignee {_person(item.assignee) or 'none'}"
                  + (f" · due {item.due_date.isoformat()}" if item.due_date else "")
                  + f" · {item.evidence_total} evidence" for key, item in items.items()}
    return markdown.render(checklist, ticks=ticks, notes=notes)
