import html as html_lib
from functools import lru_cache

from django import template
from django.utils.html import strip_tags
from django.utils.text import Truncator
from django.utils.safestring import mark_safe

from checklists import deciders
from checklists.rendering import render_markdown
from checklists.row_cache import RELEASE_ROW_TEMPLATE, WORK_ROW_TEMPLATE, render_kept, render_rows

register = template.Library()


@register.filter
def check_kind(check_id: str) -> str:
    """{{ item.probe_id|check_kind }}: "probe", "artifact" or "collector" (see checklists.deciders)."""
    return deciders.kind_of(check_id)


@register.filter
def markdown(text):
    return mark_safe(render_markdown(text))  # noqa: S308 - sanitised by nh3 in render_markdown


@register.filter
def inline_markdown(text):
    """Item text: one paragraph, without the <p> wrapper."""
    html = render_markdown(text).strip()
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        html = html[3:-4]
    return mark_safe(html)  # noqa: S308


@register.filter
def plain_text(text):
    """Item text without its Markdown (for links, titles and labels): `**Load testing** done` → `Load testing done`."""
    return _plain_text(text or "")


@lru_cache(maxsize=4096)
def _plain_text(text: str) -> str:
    # Cached like render_markdown: item texts repeat across every release of a template.
    return html_lib.unescape(strip_tags(render_markdown(text))).strip()


@register.filter
def short_text(text, length):
    """{{ item.text|short_text:60 }}: plain_text, then truncatechars, kept for the next row that asks."""
    return _short_text(text or "", int(length))


@lru_cache(maxsize=4096)
def _short_text(text: str, length: int) -> str:
    return Truncator(_plain_text(text)).chars(length)


@register.filter
def filesize(size):
    size = int(size or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"


@register.filter
def can_create_release(user):
    from checklists.permissions import can_create_release as allowed

    return user.is_authenticated and allowed(user)


@register.filter
def is_admin(user):
    from checklists.permissions import is_admin as admin

    return user.is_authenticated and admin(user)


@register.simple_tag(takes_context=True)
def current(context, *names):
    """aria-current for the navigation link of the page being shown."""
    match = getattr(context.get("request"), "resolver_match", None)
    # A constant attribute: marked safe so autoescaping does not turn its quotes into entities.
    return mark_safe('aria-current="page"') if match and match.url_name in names else ""


@register.simple_tag(takes_context=True)
def query_with(context, **changes):
    """The current query string with some parameters replaced (empty value removes one), for filter links."""
    params = context["request"].GET.copy()
    params.pop("page", None)
    for name, value in changes.items():
        if value in ("", None):
            params.pop(name, None)
        else:
            params[name] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.simple_tag
def status_options(current):
    """The <option>s of the status a person may set, `current` selected (one string per status)."""
    return mark_safe(_status_options(str(current)))  # noqa: S308 - built from our own escaped labels


@lru_cache(maxsize=16)
def _status_options(current: str) -> str:
    from django.utils.html import escape

    from checklists.services.items import SETTABLE_STATUSES

    return "".join(f'<option value="{s.value}"{" selected" if s.value == current else ""}>{escape(s.label)}</option>'
                   for s in SETTABLE_STATUSES)


@register.filter
def person(user, empty="—"):
    """A person's full name, or username; `empty` when there is nobody."""
    if user is None:
        return empty
    return user.get_full_name() or user.get_username()


# Row links without a reverse() per row: a release page draws up to six links for each of hundreds
# of rows, a list of releases or items two for each. Each URL name is reversed once, with placeholder
# ids, into a pattern that later calls fill in by string substitution (the placeholders are numbers
# no real id reaches before the sun burns out).
_RELEASE_SLOT, _ITEM_SLOT = "987654321987", "123456789123"
_url_patterns: dict[tuple, str] = {}


def _url_pattern(name: str, slots: dict[str, str]) -> str:
    from django.urls import get_script_prefix, get_urlconf, reverse

    key = (name, tuple(slots), get_script_prefix(), str(get_urlconf()))
    pattern = _url_patterns.get(key)
    if pattern is None:
        pattern = _url_patterns[key] = reverse(name, kwargs=slots)
    return pattern


def item_url_for(name: str, release_id: int, item_id: int) -> str:
    """The URL `name` (an item route: release_pk, pk) of one item; one reverse() per name and prefix."""
    pattern = _url_pattern(name, {"release_pk": _RELEASE_SLOT, "pk": _ITEM_SLOT})
    return pattern.replace(_RELEASE_SLOT, str(int(release_id))).replace(_ITEM_SLOT, str(int(item_id)))


def release_url_for(name: str, release_id: int) -> str:
    """The URL `name` (a release route: pk) of one release; one reverse() per name and prefix."""
    return _url_pattern(name, {"pk": _RELEASE_SLOT}).replace(_RELEASE_SLOT, str(int(release_id)))


@register.simple_tag
def item_url(name, item):
    """{% item_url "item-detail" item %}: what {% url name item.release_id item.pk %} gives, cheaper."""
    return item_url_for(name, item.release_id, item.pk)


@register.simple_tag
def release_url(name, release_id):
    """{% release_url "release-detail" release.pk %}: what {% url name release.pk %} gives, cheaper."""
    return release_url_for(name, release_id)


@register.simple_tag(takes_context=True)
def item_rows(context, items):
    """{% item_rows items as rows %}: checklists/_item_row.html for each item, drawn once per state
    and kept (checklists.row_cache)."""
    return [mark_safe(row) for row in render_rows(context, items)]  # noqa: S308 - rendered, autoescaped


@register.simple_tag(takes_context=True)
def work_rows(context, items):
    """{% work_rows items as rows %}: the rows of a work list (checklists/_work_row.html), kept like
    the release page's."""
    return [mark_safe(row) for row in render_rows(context, items, template_name=WORK_ROW_TEMPLATE)]  # noqa: S308


@register.simple_tag(takes_context=True)
def release_rows(context, releases):
    """{% release_rows releases as rows %}: the dashboard's rows (checklists/_release_row.html), kept
    like the release page's."""
    return [mark_safe(row) for row in render_rows(context, releases, template_name=RELEASE_ROW_TEMPLATE)]  # noqa: S308


@register.tag
def keptpart(parser, token):
    """{% keptpart key %}...{% endkeptpart %}: the content, kept under `key` (a key the view made of
    everything the content shows: checklists.row_cache.sections_key) and drawn only when missing."""
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError("keptpart takes one argument, the key")
    nodelist = parser.parse(("endkeptpart",))
    parser.delete_first_token()
    return KeptPartNode(nodelist, parser.compile_filter(bits[1]))


class KeptPartNode(template.Node):
    def __init__(self, nodelist, key):
        self.nodelist, self.key = nodelist, key

    def render(self, context):
        return render_kept(context, self.key.resolve(context), self.nodelist)
