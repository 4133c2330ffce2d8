"""Rendered release-page rows, kept so that a row is drawn once and then served until it changes.

A release page, a section loading its rows and the live view all draw `checklists/_item_row.html`;
rendering it is most of their cost. Each drawn row is stored under a key made of everything the row
shows (the item's fields and version, its evidence and comment counts, its team's and assignee's
names, whether it is overdue today) and of what the viewer may do with it (change it, tick it for a
bulk change). A change of any of these, by any path, gives another key, so a stored row is never
shown for a state it does not draw: there is nothing to invalidate, and a process can keep its own
copy (the `rows` cache, in memory) without asking Redis or the other processes. Rows nobody asks
for again age out of it.

The row's form carries a CSRF token, which belongs to one person: rows are stored with a stand-in
that each request replaces with its own token.
"""
import hashlib

from django.core.cache import caches
from django.urls import get_script_prefix
from django.utils.html import format_html

ROW_TEMPLATE = "checklists/_item_row.html"
CACHE = "rows"
_CSRF_SLOT = "csrf-slot-for-the-request-token"
_CSRF_INPUT = '<input type="hidden" name="csrfmiddlewaretoken" value="%s">' % _CSRF_SLOT


def row_key(item, *, today, oob: bool) -> str:
    """The key of the row as it would be drawn now: every value the template reads."""
    team = item.owner_team.name if item.owner_team_id else ""
    who = item.assignee
    assignee = (who.pk, who.first_name, who.last_name, who.get_username()) if who else None
    shown = (
        item.pk, item.release_id, item.version, item.evidence_count, item.comment_count,
        item.status, item.text, item.guidance, item.required, item.severity, item.probe_id,
        item.decided_by_probe, item.probe_status, item.probe_checked_at, item.regressed,
        team, assignee, item.due_date, item.is_overdue(today),
        item.can_change, item.can_bulk, oob, get_script_prefix(),
    )
    return "row:" + hashlib.blake2b(repr(shown).encode(), digest_size=20).hexdigest()


def render_row(context, item) -> str:
    """The row of `item` in `context` (a template Context with `today`, `request`, `csrf_token`)."""
    today, oob = context.get("today"), bool(context.get("oob"))
    key = row_key(item, today=today, oob=oob)
    cache = caches[CACHE]
    html = cache.get(key)
    if html is None:
        template = context.template.engine.get_template(ROW_TEMPLATE)
        with context.push(item=item, csrf_token=_CSRF_SLOT):
            html = template.render(context)
        cache.set(key, html)
    if _CSRF_INPUT in html:
        token = context.get("csrf_token")
        html = html.replace(_CSRF_INPUT, _csrf_input(token) if token else "")
    return html


def _csrf_input(token) -> str:
    return format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token)
