import datetime

import pytest
from django.utils import timezone

from checklists.models import Role, Team
from tests.celery_workers import broker, workers  # noqa: F401 (fixtures for worker integration tests)
from tests.factories import UserFactory, complete_all, member, seed_release


@pytest.fixture(autouse=True, scope="session")
def _flush_past_the_audit_truncate_guard():
    """The audit table refuses TRUNCATE (migration audit_no_truncate), and Django empties the database
    after a transactional test with one TRUNCATE of every table. The flush lifts the guard inside its
    own transaction, so it is back on for everything else, the tests that try TRUNCATE included."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        statements = original(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        if statements and "checklists_auditevent" in tables:
            guard = "checklists_audit_no_truncate"
            return [f"ALTER TABLE checklists_auditevent DISABLE TRIGGER {guard}", *statements,
                    f"ALTER TABLE checklists_auditevent ENABLE TRIGGER {guard}"]
        return statements

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = original


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The `people` fixture creates eight users; PBKDF2 at production strength costs ~0.5 s each.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def seed_teams(db):
    """The teams of the built-in template, created the way `seed_demo` creates them."""
    from checklists.seed import ensure_seed_teams, seed_metadata

    ensure_seed_teams(seed_metadata())
    return {team.slug: team for team in Team.objects.all()}


@pytest.fixture
def people(seed_teams):
    """One user per role: the cast of the permission tests."""
    return {
        "manager": member("manager", seed_teams["release"], Role.RELEASE_MANAGER),
        "other_manager": member("other-manager", seed_teams["release"], Role.RELEASE_MANAGER),
        "engineer": member("alice", seed_teams["platform"], Role.ENGINEER),
        "outsider_engineer": member("bob", seed_teams["backend"], Role.ENGINEER),
        "approver": member("sam", seed_teams["security"], Role.APPROVER),
        "auditor": member("audrey", seed_teams["release"], Role.AUDITOR),
        "admin": member("ada", seed_teams["release"], Role.ADMIN),
        "nobody": UserFactory(username="nobody"),
    }


@pytest.fixture
def release(people):
    return seed_release(manager=people["manager"])


@pytest.fixture
def outbox(settings):
    """Mail sent through settings.MAILERS, captured in memory."""
    from django.core import mail

    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    mail.outbox = []
    return mail.outbox


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
def media_root(request, settings, tmp_path):
    """Uploads and reports of each test in a folder of its own; tests whose worker runs in another
    process (marked `shared_media`) keep the settings' folder, which that process reads too."""
    if request.node.get_closest_marker("shared_media"):
        return settings.MEDIA_ROOT
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
