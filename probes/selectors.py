"""Reads across probe tables for the pages."""
from dataclasses import dataclass, field

from django.db.models import OuterRef, Subquery

from probes.models import Cluster, ProbeResult, ProbeRun


def clusters_with_last_run(user):
    """Clusters, each with `last_run_id`, `last_run_state` and `last_run_at` of its newest run on a
    release `user` may see (a run on another release is not theirs to learn of). One query."""
    from checklists.permissions import visible_releases

    newest = (ProbeRun.objects.filter(cluster=OuterRef("pk"), release__in=visible_releases(user).values("pk"))
              .order_by("-created_at"))
    return Cluster.objects.annotate(
        last_run_id=Subquery(newest.values("pk")[:1]),
        last_run_state=Subquery(newest.values("state")[:1]),
        last_run_at=Subquery(newest.values("created_at")[:1]),
        last_run_release=Subquery(newest.values("release_id")[:1]),
    ).order_by("name")


@dataclass
class ProbeGroup:
    """One probe's verdict in a run, with every item it decided (results share findings)."""

    probe_id: str
    status: str
    summary: str
    findings: list = field(default_factory=list)  # the ones shown
    exempted: list = field(default_factory=list)
    items: list = field(default_factory=list)
    findings_total: int = 0  # found by the probe: stored, shown or not

    @property
    def more(self) -> int:
        """Findings not shown here: beyond the run's storage caps or the page's own limit."""
        return max(self.findings_total - len(self.findings), 0)


def results_by_probe(run: ProbeRun, *, findings_per_probe: int | None = None) -> list[ProbeGroup]:
    """The run's results grouped per probe, failures first, each showing at most `findings_per_probe`
    findings (all that were stored when None). One query."""
    groups: dict[tuple[str, str], ProbeGroup] = {}
    for result in run.results.select_related("item").order_by("probe_id", "item_key"):
        key = (result.probe_id, result.summary)
        group = groups.get(key)
        if group is None:
            shown = result.findings if findings_per_probe is None else result.findings[:findings_per_probe]
            group = groups[key] = ProbeGroup(result.probe_id, result.status, result.summary, shown,
                                             result.exempted,
                                             findings_total=max(result.findings_total, len(result.findings)))
        group.items.append(result.item or result.item_key)
    order = {"fail": 0, "error": 1, "pass": 2, "skip": 3}
    return sorted(groups.values(), key=lambda g: (order.get(g.status, 9), g.probe_id))


def latest_result(item) -> ProbeResult | None:
    """The newest stored result for a release item. One query."""
    return (item.probe_results.select_related("run", "run__cluster", "run__evidence")
            .order_by("-run__created_at", "-pk").first())
