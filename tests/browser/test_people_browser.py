"""Single sign-on in a real browser, end to end against the loopback identity provider, and the bell."""
import pytest
from playwright.sync_api import expect

from checklists.models import Membership, Role
from notices.models import Notice
from people import services
from tests.people.conftest import provider, sso  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_through_the_identity_provider_and_see_the_bell_update(page, live_server, sso, people, seed_teams,
                                                                      settings):
    settings.READINESS_LOCAL_LOGIN = False
    settings.READINESS_NOTICE_POLL_SECONDS = 1
    services.group_mapping_create(group="eng-platform", team=seed_teams["platform"], role=Role.ENGINEER,
                                  by=people["admin"])
    sso.interactive = True
    sso.sign_in_as("u-42", username="olivia", name=("Olivia", "Ops"), groups=["eng-platform"])

    page.goto(f"{live_server.url}/")
    expect(page.get_by_label("Password")).to_have_count(0)  # passwords are off
    page.get_by_role("link", name="Log in with your company account").click()
    expect(page.get_by_role("heading", name="Corp identity")).to_be_visible()
    page.get_by_role("button", name="Continue as olivia").click()
    page.wait_for_url(f"{live_server.url}/")
    expect(page.locator(".who")).to_have_text("Olivia Ops")
    olivia = Membership.objects.get(team=seed_teams["platform"], role=Role.ENGINEER, source="sso").user
    assert olivia.username == "olivia"

    bell = page.get_by_role("link", name="Notices: 0 unread")
    expect(bell).to_be_visible()
    Notice.objects.create(user=olivia, key="k", event="signoff.opened", title="Sign-off open: todo-app 1.0.0",
                          url="/")
    expect(page.get_by_role("link", name="Notices: 1 unread")).to_be_visible(timeout=8_000)
    page.get_by_role("link", name="Notices: 1 unread").click()
    expect(page.get_by_role("cell", name="Sign-off open: todo-app 1.0.0")).to_be_visible()
    page.get_by_role("button", name="Mark all read").click()
    expect(page.get_by_text("Nothing unread.")).to_be_visible()
