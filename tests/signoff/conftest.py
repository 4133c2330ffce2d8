import datetime
import hashlib

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from checklists.models import Comment, Evidence, ReleaseItem, Role
from tests.factories import member


def complete_all(release, *, status=ReleaseItem.Status.DONE):
    """Test setup: every item done (a direct update; the item services are not under test here)."""
    release.items.update(status=status)


def add_file_evidence(item, *, by, data: bytes, name="evidence.txt") -> Evidence:
    digest = hashlib.sha256(data).hexdigest()
    evidence = Evidence(item=item, kind=Evidence.Kind.FILE, filename=name, content_type="text/plain",
                        size=len(data), sha256=digest, created_by=by)
    evidence.file.save(name, ContentFile(data), save=False)
    evidence.save()
    return evidence


def add_note(item, *, by, text) -> Evidence:
    return Evidence.objects.create(item=item, kind=Evidence.Kind.NOTE, note=text,
                                   sha256=hashlib.sha256(text.encode()).hexdigest(), created_by=by)


@pytest.fixture
def approvers(seed_teams, people):
    """Someone for each seed requirement: Platform, Security (people['approver']), Product owner."""
    return {
        "Platform": member("pat", seed_teams["platform"], Role.APPROVER),
        "Security": people["approver"],
        "Product owner": member("paula", seed_teams["release"], Role.APPROVER),
    }


@pytest.fixture
def ready_release(release):
    complete_all(release)
    return release


@pytest.fixture
def tomorrow():
    return timezone.localdate() + datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def change_item(item, *, status, by):
    """What the item services do: bump under the optimistic lock, then tell sign-off."""
    from checklists.services import signoff

    item.refresh_from_db()
    item.status = status
    item.completed_by = by if status in ReleaseItem.COMPLETE else None
    assert item.bump(by=by, fields=["status", "completed_by"]) == 1
    signoff.on_item_changed(item, by=by)
    return item


def approve_all(release, approvers):
    from checklists.services import signoff

    for requirement in release.requirements.all():
        signoff.approval_decide(requirement=requirement, by=approvers[requirement.name], decision="approved",
                                comment="Looks right.")
    release.refresh_from_db()
    return release
