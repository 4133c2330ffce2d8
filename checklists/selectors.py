"""Reads that join several tables, shaped for pages and exports."""
from django.db.models import Count, Q, QuerySet

from checklists.models import ReleaseItem

_COMPLETE = Q(items__status__in=ReleaseItem.COMPLETE)


def with_progress(releases: QuerySet) -> QuerySet:
    """Annotate releases with item counts in the same query: total, complete and blocking."""
    return releases.annotate(
        item_total=Count("items"),
        item_complete=Count("items", filter=_COMPLETE),
        item_blocking=Count("items", filter=Q(items__required=True, items__status=ReleaseItem.Status.FAILED)),
    )


def percent(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0
