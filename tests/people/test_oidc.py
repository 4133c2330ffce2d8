"""Single sign-on against the loopback OpenID Connect provider: the flow, the refusals, the groups
mapped to teams and roles at every login (with audit events), and password logins switched off."""
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model
from django.urls import reverse

from checklists.models import AuditEvent, Membership, Role, Team
from people import services
from people.models import GroupMapping, Identity
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def sso_login(client, provider, *, next_url=""):
    """Follow the flow as a browser would: our authenticate view, the provider's authorize endpoint
    (over HTTP), then our callback with the code. Returns the callback's response."""
    start = client.get(reverse("oidc_authentication_init") + (f"?next={next_url}" if next_url else ""))
    assert start.status_code == 302, start.content
    authorize = start["Location"]
    assert authorize.startswith(provider.issuer + "/authorize?")
    back = requests.get(authorize, allow_redirects=False, timeout=5)
    assert back.status_code == 302, back.text
    callback = urlsplit(back.headers["Location"])
    assert callback.path == reverse("oidc_authentication_callback")
    return client.get(f"{callback.path}?{callback.query}")


def logged_in_user(client):
    user_id = client.session.get("_auth_user_id")
    return get_user_model().objects.get(pk=user_id) if user_id else None


@pytest.fixture
def mappings(people, seed_teams):
    admin = people["admin"]
    return {
        "eng": services.group_mapping_create(group="eng-platform", team=seed_teams["platform"], role=Role.ENGINEER,
                                             by=admin),
        "sec": services.group_mapping_create(group="security-approvers", team=seed_teams["security"],
                                             role=Role.APPROVER, by=admin),
        "leads": services.group_mapping_create(group="platform-leads", team=seed_teams["platform"],
                                               role=Role.RELEASE_MANAGER, by=admin),
    }


def test_the_authorize_request_carries_state_nonce_and_pkce(client, sso):
    response = client.get(reverse("oidc_authentication_init"))
    params = {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}
    assert params["client_id"] == "readiness-tests" and params["response_type"] == "code"
    assert params["redirect_uri"] == "http://testserver/oidc/callback/"
    assert "openid" in params["scope"].split() and "groups" in params["scope"].split()
    assert len(params["state"]) >= 32 and len(params["nonce"]) >= 32
    assert params["code_challenge_method"] == "S256"


def test_first_login_creates_the_user_with_the_teams_and_roles_of_their_groups(client, sso, mappings, seed_teams):
    sso.sign_in_as("u-1001", username="olivia", name=("Olivia", "Ops"),
                   groups=["eng-platform", "security-approvers", "unmapped-group"])
    response = sso_login(client, sso)
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    user = logged_in_user(client)
    assert (user.username, user.email, user.get_full_name()) == ("olivia", "u-1001@corp.example", "Olivia Ops")
    assert not user.has_usable_password()
    assert Identity.objects.get(user=user).subject == "u-1001"
    roles = set(Membership.objects.filter(user=user).values_list("team__slug", "role", "source"))
    assert roles == {("platform", Role.ENGINEER, "sso"), ("security", Role.APPROVER, "sso")}
    actions = list(AuditEvent.objects.filter(object_type="membership", actor=None).values_list("action", flat=True))
    assert sorted(actions) == ["people.membership.added", "people.membership.added"]
    assert AuditEvent.objects.filter(action="people.user.created", actor=None).exists()
    # The PKCE verifier went to the token endpoint and matched.
    assert sso.token_requests[-1]["code_verifier"]


def test_every_login_applies_the_groups_again_and_leaving_a_group_removes_its_role(client, sso, mappings,
                                                                                    seed_teams):
    sso.sign_in_as("u-7", username="omar", groups=["eng-platform", "security-approvers"])
    sso_login(client, sso)
    user = logged_in_user(client)
    client.logout()

    # Promoted to platform lead, left the security approvers.
    sso.sign_in_as("u-7", username="omar", groups=["eng-platform", "platform-leads"])
    sso_login(client, sso)
    assert logged_in_user(client) == user
    assert set(Membership.objects.filter(user=user).values_list("team__slug", "role")) == {
        ("platform", Role.RELEASE_MANAGER)}
    events = AuditEvent.objects.filter(object_type="membership").order_by("id")
    changed = events.get(action="people.membership.role_set")
    assert changed.before["role"] == Role.ENGINEER and changed.after["role"] == Role.RELEASE_MANAGER
    removed = events.get(action="people.membership.removed")
    assert removed.before == {"user": "omar", "team": "security", "role": Role.APPROVER, "source": "sso"}
    assert removed.actor_name == "system"


def test_a_membership_an_admin_set_by_hand_survives_login(client, sso, mappings, people, seed_teams):
    user = UserFactory(username="hand", email="hand@corp.example")
    services.membership_set_role(team=seed_teams["backend"], user=user, role=Role.ENGINEER, by=people["admin"])
    sso.sign_in_as("u-hand", email="hand@corp.example", groups=["eng-platform"])
    sso_login(client, sso)
    assert logged_in_user(client) == user  # linked through the verified email
    assert set(Membership.objects.filter(user=user).values_list("team__slug", "source")) == {
        ("backend", "manual"), ("platform", "sso")}


def test_an_unverified_email_does_not_take_over_an_existing_account(client, sso, people):
    sso.sign_in_as("u-evil", email=people["admin"].email, username="ada", email_verified=False)
    sso_login(client, sso)
    user = logged_in_user(client)
    assert user != people["admin"] and user.username == "ada-2"


@pytest.mark.parametrize("tamper, reason", [
    ("signature", "Signature verification failed"),
    ("audience", "Audience"),
    ("expired", "Signature has expired"),
    ("nonce", "Nonce verification failed"),
    ("issuer", "Invalid issuer"),
])
def test_a_bad_id_token_is_refused(client, sso, mappings, tamper, reason):
    sso.sign_in_as("u-bad", groups=["eng-platform"])
    sso.tamper = tamper
    response = sso_login(client, sso)
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert logged_in_user(client) is None
    assert not get_user_model().objects.filter(username="u-bad").exists()
    page = client.get(reverse("login"))
    assert "Single sign-on failed" in page.content.decode()
    assert reason.lower() in page.content.decode().lower()


def test_a_deactivated_user_is_signed_out_and_cannot_sign_in_again(client, sso, people, mappings):
    sso.sign_in_as("u-gone", username="gone", groups=["eng-platform"])
    sso_login(client, sso)
    user = logged_in_user(client)
    services.user_deactivate(user=user, by=people["admin"])
    # The open session ends at once.
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    sso_login(client, sso)
    assert "Your account is deactivated" in client.get(reverse("login")).content.decode()
    assert client.get(reverse("dashboard")).status_code == 302


def test_a_replayed_callback_is_refused(client, sso):
    sso.sign_in_as("u-once")
    start = client.get(reverse("oidc_authentication_init"))
    back = requests.get(start["Location"], allow_redirects=False, timeout=5)
    callback = urlsplit(back.headers["Location"])
    assert client.get(f"{callback.path}?{callback.query}").status_code == 302
    client.logout()
    again = client.get(f"{callback.path}?{callback.query}")
    assert again.status_code in (302, 400) and logged_in_user(client) is None


def test_sso_urls_answer_404_when_not_configured(client):
    assert client.get(reverse("oidc_authentication_init")).status_code == 404
    assert client.get(reverse("oidc_authentication_callback") + "?code=x&state=y").status_code == 404


def test_the_login_page_offers_sso_and_hides_passwords_when_they_are_off(client, sso, settings):
    page = client.get(reverse("login")).content.decode()
    assert "Log in with your company account" in page and 'name="password"' in page
    settings.READINESS_LOCAL_LOGIN = False
    page = client.get(reverse("login")).content.decode()
    assert "Log in with your company account" in page and 'name="password"' not in page
    assert 'name="password"' in client.get(reverse("login") + "?local=1").content.decode()


def test_with_local_login_off_only_break_glass_admins_use_a_password(client, settings, people, seed_teams):
    settings.READINESS_LOCAL_LOGIN = False
    settings.READINESS_BREAK_GLASS_USERS = ["ada"]
    refused = client.post(reverse("login") + "?local=1", {"username": "alice", "password": "pw-for-tests"})
    assert refused.status_code == 200 and logged_in_user(client) is None
    allowed = client.post(reverse("login") + "?local=1", {"username": "ada", "password": "pw-for-tests"})
    assert allowed.status_code == 302 and logged_in_user(client) == people["admin"]


def test_group_mappings_page_is_for_admins(client, people, seed_teams):
    url = reverse("people:group-mapping-list")
    client.force_login(people["manager"])
    assert client.get(url).status_code == 404
    assert client.post(url, {"group": "g", "team": seed_teams["platform"].pk, "role": "engineer"}).status_code == 404
    client.force_login(people["admin"])
    assert client.post(url, {"group": "", "team": seed_teams["platform"].pk, "role": "engineer"}).status_code == 400
    response = client.post(url, {"group": "eng", "team": seed_teams["platform"].pk, "role": "engineer"})
    assert response.status_code == 302
    mapping = GroupMapping.objects.get(group="eng")
    assert AuditEvent.objects.filter(action="people.group_mapping.created", object_id=str(mapping.pk)).exists()
    assert client.post(reverse("people:group-mapping-delete", args=[mapping.pk])).status_code == 302
    assert not GroupMapping.objects.exists()
    assert AuditEvent.objects.filter(action="people.group_mapping.deleted").exists()
    assert Team.objects.filter(slug="platform").exists()


def test_mappings_from_configuration_apply_with_those_of_the_database(client, sso, mappings, settings):
    settings.READINESS_OIDC_GROUP_MAP = [("CN=sre,OU=Groups,DC=corp", "platform", Role.ADMIN),
                                         ("ghosts", "no-such-team", Role.ENGINEER)]
    sso.sign_in_as("u-sre", username="sid", groups=["eng-platform", "CN=sre,OU=Groups,DC=corp", "ghosts"])
    sso_login(client, sso)
    user = logged_in_user(client)
    assert set(Membership.objects.filter(user=user).values_list("team__slug", "role")) == {("platform", Role.ADMIN)}


def test_the_group_map_setting_is_parsed_and_checked(monkeypatch, settings):
    from django.core.exceptions import ImproperlyConfigured

    from people.apps import check_group_map
    from readiness.env import env_group_map

    monkeypatch.setenv("READINESS_OIDC_GROUP_MAP", "eng=platform:engineer;\nCN=a,DC=b=security:approver")
    assert env_group_map("READINESS_OIDC_GROUP_MAP") == [("eng", "platform", "engineer"),
                                                         ("CN=a,DC=b", "security", "approver")]
    monkeypatch.setenv("READINESS_OIDC_GROUP_MAP", "eng=platform")
    with pytest.raises(ImproperlyConfigured, match="'eng=platform' is not group=team-slug:role"):
        env_group_map("READINESS_OIDC_GROUP_MAP")
    settings.READINESS_OIDC_GROUP_MAP = [("eng", "platform", "overlord")]
    assert [error.id for error in check_group_map()] == ["people.E001"]


def test_single_sign_on_works_without_redis(client, sso, mappings, settings, caplog):
    """The discovery document is kept in the cache; without Redis it is fetched again, and the login
    goes through (like password logins, whose brake is off without Redis)."""
    from django.test import override_settings

    sso.sign_in_as("u-2002", username="odile", name=("Odile", "Ops"), groups=["eng-platform"])
    dead = {**settings.CACHES, "default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:9/0"}}
    with override_settings(CACHES=dead):
        response = sso_login(client, sso)
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    assert logged_in_user(client).username == "odile"
    assert "Cache unavailable, the discovery document is fetched again" in caplog.text
