import json
from datetime import timedelta

from django import template
from django.utils import timezone

from checklists import deciders
from checklists.signoff.services import evidence_max_age_hours
from probes import selectors
from probes.engine import registry
from probes.engine.artifacts import FORMATS

register = template.Library()

KIND_TITLES = {deciders.PROBE: "Kubernetes probe", deciders.ARTIFACT: "Artifact check",
               deciders.COLLECTOR: "Collector check"}


@register.simple_tag
def latest_probe_result(item):
    """{% latest_probe_result item as result %}: the item's newest stored probe result (one query)."""
    return selectors.latest_result(item)


@register.simple_tag
def check_info(item):
    """{% check_info item as check %}: what decides the item and how long its verdict stays fresh:
    kind, kind_title, title, defaults and params_text (JSON), reads (the file an artifact check
    reads), max_age_hours, fresh_until, stale. No query."""
    kind = deciders.kind_of(item.probe_id)
    found = registry.find(item.probe_id) if kind else None
    check = found[1] if found else None
    hours = evidence_max_age_hours(item.probe_id)
    checked = item.probe_checked_at
    fresh_until = checked + timedelta(hours=hours) if checked else None
    return {
        "kind": kind, "kind_title": KIND_TITLES.get(kind, "Check"), "title": getattr(check, "title", ""),
        "defaults": json.dumps(check.defaults(), sort_keys=True, default=str) if hasattr(check, "defaults") else "",
        "params_text": json.dumps(item.probe_params, sort_keys=True) if item.probe_params else "",
        "reads": FORMATS[check.format].description if kind == deciders.ARTIFACT and check else "",
        "max_age_hours": hours, "fresh_until": fresh_until,
        "stale": bool(item.decided_by_probe and (fresh_until is None or fresh_until < timezone.now())),
    }
