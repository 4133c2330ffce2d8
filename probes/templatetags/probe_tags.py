from django import template

from probes import selectors

register = template.Library()


@register.simple_tag
def latest_probe_result(item):
    """{% latest_probe_result item as result %}: the item's newest stored probe result (one query)."""
    return selectors.latest_result(item)
