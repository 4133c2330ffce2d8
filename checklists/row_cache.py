"""Rendered release-page rows, kept so that a row is drawn once and then served until it changes.

A release page, a section loading its rows and the live view all draw `checklists/_item_row.html`;
rendering it is most of their cost. Each drawn row is stored under a key made of everything the row
shows (the item's fields and version, its evidence and comment counts, its team's and assignee's
names, whether it is overdue today) and of what the viewer may do with it (change it, tick it for a
bulk change). A change of any of these, by any path, gives another key, so a stored row is never
shown for a state it does not draw: there is nothing to invalidate. Rows nobody asks for again
expire.

Each process keeps the rows it drew or fetched in its own memory (the `fragments` cache), and all
of them share the rows through Redis (the `rows` cache), so a process that starts cold fetches what
another drew, in one round trip for a list of rows. When Redis does not answer, rows are drawn as
if none were kept: a page never fails for its cache. The row's form carries a CSRF token, which
belongs to one person: rows are stored with a stand-in that each request replaces with its own.

The work lists' rows (checklists/_work_row.html) and the dashboard's (checklists/_release_row.html,
one release each) are kept the same way, each under a key of everything it shows.

The release page's sections (headings, rows and the links of sections still to load) are kept as a
whole too, under a key made of their counts and of the keys of their rows, in Redis only and for ten
minutes: a part is tens of kilobytes, and each change to a release makes a new one. Headings alone
are kept in each process (`{% cache ... using="fragments" %}` in _section.html), for the pages whose
sections changed.
"""
import hashlib
import logging

from django.core.cache import caches
from django.urls import get_script_prefix
from django.utils.html import format_html

from checklists.selectors import walk

logger = logging.getLogger(__name__)

ROW_TEMPLATE = "checklists/_item_row.html"
WORK_ROW_TEMPLATE = "checklists/_work_row.html"
RELEASE_ROW_TEMPLATE = "checklists/_release_row.html"
LOCAL, SHARED = "fragments", "rows"
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


def work_row_key(item, *, today) -> str:
    """The key of a row of "my items" or a team's items (checklists/_work_row.html)."""
    who = item.assignee
    shown = (
        item.pk, item.release_id, item.release.service, item.release.version, item.release.environment,
        item.text, item.status, item.is_blocking, item.decided_by_probe, item.probe_status, item.due_date,
        item.is_overdue(today), item.owner_team.name if item.owner_team_id else "",
        (who.pk, who.first_name, who.last_name, who.get_username()) if who else None,
        item.evidence_count, item.comment_count, get_script_prefix(),
    )
    return "work-row:" + hashlib.blake2b(repr(shown).encode(), digest_size=20).hexdigest()


def release_row_key(release) -> str:
    """The key of a row of the dashboard (checklists/_release_row.html), counted by
    selectors.attach_progress."""
    who = release.release_manager
    shown = (
        release.pk, release.service, release.version, release.environment, release.drifted, release.state,
        release.target_date, (who.pk, who.first_name, who.last_name, who.get_username()) if who else None,
        release.item_total, release.item_complete, release.item_blocking, release.item_overdue,
        release.progress, get_script_prefix(),
    )
    return "release-row:" + hashlib.blake2b(repr(shown).encode(), digest_size=20).hexdigest()


def render_rows(context, items, *, template_name=ROW_TEMPLATE) -> list[str]:
    """The rows of `items` in `context` (a template Context with `today` and, in a request,
    `csrf_token`): kept ones from the cache in one round trip, the others drawn and kept. Rows of the
    release page by default; `WORK_ROW_TEMPLATE` draws those of the work lists and
    `RELEASE_ROW_TEMPLATE` those of the dashboard (whose items are releases)."""
    today, oob = context.get("today"), bool(context.get("oob"))
    name = "release" if template_name == RELEASE_ROW_TEMPLATE else "item"
    if template_name == WORK_ROW_TEMPLATE:
        keys = [work_row_key(item, today=today) for item in items]
    elif template_name == RELEASE_ROW_TEMPLATE:
        keys = [release_row_key(release) for release in items]
    else:
        keys = [row_key(item, today=today, oob=oob) for item in items]
    local = caches[LOCAL]
    kept = local.get_many(keys)
    if len(kept) < len(keys):
        fetched = _shared_get_many([key for key in keys if key not in kept])
        local.set_many(fetched)
        kept |= fetched
    drawn = {}
    template = None
    rows = []
    for item, key in zip(items, keys):
        html = kept.get(key)
        if html is None:
            template = template or context.template.engine.get_template(template_name)
            with context.push({name: item, "csrf_token": _CSRF_SLOT}):
                html = drawn[key] = template.render(context)
        rows.append(html)
    if drawn:
        local.set_many(drawn)
        _shared_set_many(drawn)
    if context.get(_CSRF_LATER):
        return rows
    return [_with_csrf(context, html) for html in rows]


def sections_key(*, release, roots, can_manage: bool, query: str, today, shown_count: int, total: int) -> str:
    """The key of the release page's sections as drawn now: the tree with each section's counts and
    the keys of the rows it draws (so any change to a row changes it too), what the viewer may do,
    and the query string its links keep."""
    nodes = [(node.pk, node.section.parent_id, node.section.title, node.section.level, node.total,
              node.complete, node.matching,
              [row_key(item, today=today, oob=False) for item in node.items]) for node in walk(roots)]
    shown = (release.pk, can_manage, query, shown_count, total, nodes, get_script_prefix())
    return "sections:" + hashlib.blake2b(repr(shown).encode(), digest_size=20).hexdigest()


PART_TIMEOUT = 600


def render_kept(context, key: str, nodelist) -> str:
    """A part of a page made of rows (the release page's sections), kept under `key` in Redis."""
    html = _shared_get_many([key]).get(key)
    if html is None:
        with context.push({_CSRF_LATER: True}):
            html = nodelist.render(context)
        _shared_set_many({key: html}, timeout=PART_TIMEOUT)
    return _with_csrf(context, html)


_CSRF_LATER = "row_cache_csrf_later"  # rows drawn inside a kept part get the token with the part


def _with_csrf(context, html: str) -> str:
    if _CSRF_INPUT not in html:
        return html
    token = context.get("csrf_token")
    real = format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token) if token else ""
    return html.replace(_CSRF_INPUT, real)


def _shared_get_many(keys) -> dict:
    try:
        return caches[SHARED].get_many(keys)
    except Exception as error:  # noqa: BLE001 - whatever the cache's failure, the rows can be drawn
        logger.warning("Row cache unavailable, rows drawn afresh: %s", error)
        return {}


def _shared_set_many(rows: dict, timeout=None) -> None:
    try:
        caches[SHARED].set_many(rows, **({"timeout": timeout} if timeout else {}))
    except Exception as error:  # noqa: BLE001
        logger.warning("Row cache unavailable, rows not kept: %s", error)
