import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from checklists.models import Release, ReleaseItem
from checklists.seed import load_default_template
from checklists.services.releases import ReleaseError, release_create
from checklists.services.templates import template_import

pytestmark = pytest.mark.django_db


def _template_with(n_items: int):
    lines = ["# Sized", "", "## Only section"] + [f"- [ ] item number {i}" for i in range(n_items)]
    return template_import(data="\n".join(lines).encode(), name=f"Sized {n_items}").version


def test_creating_a_release_costs_the_same_queries_for_20_and_211_items(django_assert_num_queries, seed_teams):
    small = _template_with(20)
    seed = load_default_template().version
    assert seed.items.count() == 211
    # Sign-off defaults make work of their own: compare like with like.
    seed.signoff_defaults = []
    seed.save(update_fields=["signoff_defaults"])
    # 11: two savepoints and their releases, the duplicate check, the release INSERT, one read of the
    # template items, one bulk INSERT of the release items, and the audit event (lock, last hash, INSERT).
    with django_assert_num_queries(11) as small_ctx:
        release_create(template_version=small, service="a", version="1")
    with django_assert_num_queries(len(small_ctx.captured_queries)):
        release_create(template_version=seed, service="b", version="1")
    assert ReleaseItem.objects.filter(release__service="b").count() == 211


def test_release_snapshots_items_with_their_default_team(people, release):
    items = release.items.select_related("owner_team")
    assert items.count() == 211
    item = items.get(key="kubernetes-cluster.cluster-has-at-least-3-nodes-for-high-availability")
    assert item.owner_team.slug == "platform"
    assert item.text == "Cluster has at least 3 nodes for high availability"
    assert item.status == ReleaseItem.Status.OPEN and item.version == 1
    nested = items.get(key="dapr-configuration.state-store-postgresql-with-connection-pooling")
    assert nested.parent_key == "dapr-configuration.dapr-components-are-configured-for-production"
    assert release.state == Release.State.IN_PROGRESS
    assert list(release.requirements.values_list("name", flat=True)) == ["Platform", "Security", "Product owner"]


def test_duplicate_release_is_refused(people, release):
    with pytest.raises(ReleaseError, match="already has a release"):
        release_create(template_version=release.template_version, service=release.service, version=release.version)


def test_create_release_command_prints_the_id(capsys, seed_teams):
    load_default_template()
    call_command("create_release", "--template", "Production Readiness Checklist", "--service", "api",
                 "--version", "3.1.0", "--environment", "staging")
    release = Release.objects.get(pk=int(capsys.readouterr().out.strip()))
    assert (release.service, release.version, release.environment) == ("api", "3.1.0", "staging")
    with pytest.raises(CommandError, match="No template"):
        call_command("create_release", "--template", "Nope", "--service", "x", "--version", "1")
