import datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from checklists.models import AuditEvent, Release, ReleaseItem
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
    # 8: a savepoint and its release, the duplicate check, the release INSERT, one statement copying
    # every template item (and the default sign-off requirements) inside the database, and the audit
    # event (lock, last hash, INSERT; no savepoint of its own). (It was 11: the template items were
    # read into Python, then bulk-inserted, and the audit event had a savepoint.)
    with django_assert_num_queries(8) as small_ctx:
        release_create(template_version=small, service="a", version="1")
    with django_assert_num_queries(len(small_ctx.captured_queries)):
        release_create(template_version=seed, service="b", version="1")
    assert ReleaseItem.objects.filter(release__service="b").count() == 211


def test_sign_off_defaults_cost_the_same_queries_for_one_requirement_or_many(django_assert_num_queries, seed_teams):
    version = _template_with(20)
    section = version.sections.order_by("order").first().key
    version.signoff_defaults = [{"name": "Platform", "team": "platform", "sections": [section]}]
    version.save(update_fields=["signoff_defaults"])
    # 8, as above: the statement that copies the items copies the requirements and their sections too.
    with django_assert_num_queries(8):
        release_create(template_version=version, service="one", version="1")
    version.signoff_defaults = [{"name": f"R{n}", "team": "platform", "sections": [section]} for n in range(6)]
    version.save(update_fields=["signoff_defaults"])
    with django_assert_num_queries(8):
        release = release_create(template_version=version, service="six", version="1")
    assert [(r.name, [s.key for s in r.sections.all()]) for r in release.requirements.order_by("order")] == \
        [(f"R{n}", [section]) for n in range(6)]


def test_release_items_are_a_faithful_copy_of_the_template_items(people, release):
    template_items = {t.pk: t for t in release.template_version.items.select_related("parent")}
    items = list(release.items.all())
    assert len(items) == len(template_items) == 211
    for item in items:
        t = template_items[item.template_item_id]
        assert (item.section_id, item.key, item.parent_key, item.text, item.guidance, item.order, item.required,
                item.severity, item.probe_id, item.probe_params, item.owner_team_id) == \
               (t.section_id, t.key, t.parent.key if t.parent else "", t.text, t.guidance, t.order, t.required,
                t.severity, t.probe_id, t.probe_params, t.default_team_id)
        assert (item.status, item.version, item.assignee_id, item.due_date, item.decided_by_probe,
                item.probe_status, item.regressed, item.changed_by_id) == ("open", 1, None, None, False, "", False,
                                                                           None)
    assert any(item.probe_params for item in items) and any(item.guidance for item in items)
    dated = release_create(template_version=release.template_version, service="dated", version="1",
                           target_date=datetime.date(2031, 3, 4))
    assert set(dated.items.values_list("due_date", flat=True)) == {datetime.date(2031, 3, 4)}
    event = AuditEvent.objects.filter(action="checklists.release.created", object_id=str(dated.pk)).get()
    assert event.after["service"] == "dated"


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
