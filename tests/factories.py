import factory
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from checklists.models import Evidence, Membership, ReleaseItem, Role, Team
from checklists.seed import load_default_template
from checklists.services import items as item_services
from checklists.services import comments as comment_services
from checklists.services import evidence as evidence_services
from checklists.services.releases import release_create


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw-for-tests")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ["slug"]

    slug = factory.Sequence(lambda n: f"team-{n}")
    name = factory.LazyAttribute(lambda t: t.slug.replace("-", " ").title())


def member(username: str, team: Team, role: str = Role.ENGINEER):
    user = UserFactory(username=username)
    Membership.objects.get_or_create(user=user, team=team, defaults={"role": role})
    return user


def seed_release(*, service="todo-app", version="1.0.0", manager=None, **kwargs):
    """A release of the built-in 211-item template."""
    template_version = load_default_template().version
    return release_create(template_version=template_version, service=service, version=version,
                          release_manager=manager, by=manager, **kwargs)


def make_one_of_each(release, people):
    """A row of every model, each made the way the product makes it (through the services), so that
    a test walking every admin page really opens each one. `release` must be ready for sign-off."""
    import datetime
    import pathlib

    from checklists.services import items as item_services
    from checklists.signoff import services as signoff, waivers
    from reports import services as reports
    from probes import bundles
    from probes import services as probe_services

    manager = release.release_manager
    signoff.signoff_open(release=release, by=manager)
    signoff.approval_decide(requirement=release.requirements.get(name="Security"), by=people["approver"],
                            decision="approved")
    item = release.items.order_by("order").first()
    comment_services.comment_add(item=item, body="Looks done.", by=manager)
    evidence_services.evidence_add_note(item=item, text="Checked by hand.", by=manager)
    probe_services.cluster_create(name="in-cluster", kubeconfig=None, by=people["admin"])
    from probes.endpoints import endpoint_create

    endpoint_create(name="prometheus", kind="prometheus", url="http://127.0.0.1:9090", by=people["admin"])
    manifests = pathlib.Path(__file__).parent / "probes" / "fixtures" / "bad-bundle"
    run = probe_services.run_create(release=release, bundle=bundles.read_paths([manifests]), bundle_name="bad",
                                    by=manager, queue=False)
    probe_services.run_execute(run_id=run.pk)
    failed = release.items.filter(probe_status="fail", status="failed").first()
    item_services.item_set_status(item=failed, status="done", by=manager, expected_version=failed.version,
                                  reason="Accepted for the admin walk.")
    other = release.items.filter(status="done").order_by("order").last()
    item_services.item_set_status(item=other, status="in_progress", by=manager, expected_version=other.version)
    waivers.waiver_request(item=other, by=manager, justification="Later.",
                           expires_on=datetime.date.today() + datetime.timedelta(days=3))
    reports.report_generate(release=release, fmt="json", by=people["auditor"])


# Workflow steps for test setup, each through the services a person's action goes through.
def complete_all(release, *, status=ReleaseItem.Status.DONE):
    """Test setup: every item set to `status` by the release manager, through the item entry point."""
    for item in release.items.select_related("release"):
        item_services.item_set_status(item=item, status=status, by=release.release_manager,
                                      expected_version=item.version, reason="Test setup: checked by hand.")


def add_file_evidence(item, *, by, data: bytes, name="evidence.txt") -> Evidence:
    return evidence_services.evidence_add_file(item=item, upload=SimpleUploadedFile(name, data), by=by)


def add_note(item, *, by, text) -> Evidence:
    return evidence_services.evidence_add_note(item=item, text=text, by=by)


def change_item(item, *, status, by):
    """A person's status change, through the item entry point."""
    item.refresh_from_db()
    return item_services.item_set_status(item=item, status=status, by=by, expected_version=item.version)


def approve_all(release, approvers):
    from checklists.signoff import services as signoff

    for requirement in release.requirements.all():
        signoff.approval_decide(requirement=requirement, by=approvers[requirement.name], decision="approved",
                                comment="Looks right.")
    release.refresh_from_db()
    return release
