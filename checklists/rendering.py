"""Markdown from users and templates, rendered to HTML that is safe to put in a page."""
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

# CommonMark with raw HTML off; nh3 then removes anything unsafe that Markdown itself can produce
# (javascript: links, odd attributes) and marks links as leaving the site.
_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_TAGS = {"p", "br", "em", "strong", "code", "pre", "ul", "ol", "li", "blockquote", "a", "h1", "h2", "h3", "h4",
         "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td", "del"}


def render_markdown(text: str) -> str:
    if not text:
        return ""
    return _render(text)


@lru_cache(maxsize=4096)
def _render(text: str) -> str:
    # Cached: template guidance repeats across every release made from the same template.
    html = _md.render(text)
    return nh3.clean(html, tags=_TAGS, attributes={"a": {"href", "title"}, "code": {"class"}},
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow")
