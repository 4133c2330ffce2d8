import pytest

from notices import services
from tests.notices.receiver import start_receiver


@pytest.fixture
def receiver():
    receiver, server = start_receiver()
    yield receiver
    server.stop_event.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def webhook(people, seed_teams, receiver):
    """A generic webhook of the release team (the manager's team: it takes part in every release)."""
    hook, secret = services.webhook_create(team=seed_teams["release"], name="release-events", url=receiver.url,
                                           format="generic", events=[], by=people["admin"])
    hook.plain_secret = secret
    return hook
