import html as html_lib

from django import template
from django.utils.html import strip_tags
from django.utils.safestring import mark_safe

from checklists.rendering import render_markdown

register = template.Library()


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
    return html_lib.unescape(strip_tags(render_markdown(text))).strip()


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
def settable_statuses():
    from checklists.services.items import SETTABLE_STATUSES

    return [(s.value, s.label) for s in SETTABLE_STATUSES]


@register.filter
def person(user, empty="—"):
    """A person's full name, or username; `empty` when there is nobody."""
    if user is None:
        return empty
    return user.get_full_name() or user.get_username()
