"""Who may run probes and see or manage clusters. Built on the release rules of checklists.permissions:
a role counts in the team it was granted in."""
from django.db.models import Q
from django.http import Http404

from checklists.models import Release, Role
from checklists.permissions import can_manage_release, get_release_for_user, is_admin, roles_of, teams_with_role
from probes.models import ProbeRun, probe_bound


def can_run_probes(user, release: Release, bound: Q | None = None) -> bool:
    """Its release manager and admins; engineers of a team owning one of its items that such a run
    decides (`bound`: the probe-bound items by default)."""
    if can_manage_release(user, release):
        return True
    engineer_in = teams_with_role(user, Role.ENGINEER)
    if not engineer_in:
        return False
    return release.items.filter(bound if bound is not None else probe_bound(), owner_team__in=engineer_in).exists()


def can_collect(user, release: Release) -> bool:
    """Who may start a collection from the observability endpoints: as for probe runs, over the
    collector-bound items."""
    return can_run_probes(user, release, Q(probe_id__startswith="collector."))


def can_see_clusters(user) -> bool:
    """Anyone holding a role sees the clusters (names and reachability, never credentials)."""
    return bool(roles_of(user))


def can_manage_clusters(user) -> bool:
    return is_admin(user)


def get_probe_run_for_user(user, release_pk, run_pk) -> ProbeRun:
    release = get_release_for_user(user, release_pk)
    try:
        run = release.probe_runs.select_related("cluster", "requested_by").get(pk=run_pk)
    except ProbeRun.DoesNotExist:
        raise Http404("No such probe run.") from None
    run.release = release
    return run
