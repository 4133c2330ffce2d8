"""Webhook deliveries against a real receiver on 127.0.0.1: signature, bodies, retries, timeouts,
idempotency, and a dead endpoint that neither slows a page nor blocks the workflow."""
import datetime
import hashlib
import hmac
import json
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from checklists.models import Waiver
from notices import services, signing
from notices.delivery import delivery_attempt, deliveries_due
from notices.models import Delivery, Event
from tests.celery_workers import wait_for
from tests.notices.receiver import wait_for_requests

KEY = "signoff.decided:approval:1"


def _publish(release, key=KEY, **kwargs):
    kwargs.setdefault("event", Event.DECISION)
    kwargs.setdefault("title", f"Approved: Security for {release}")
    return services.event_publish(key=key, release=release, url=reverse("signoff-detail", args=[release.pk]),
                                  **kwargs)


@pytest.mark.django_db
def test_a_generic_delivery_is_signed_over_timestamp_and_body(release, webhook, receiver, settings):
    settings.READINESS_BASE_URL = "https://readiness.example.com"
    _publish(release)
    delivery = Delivery.objects.get(webhook=webhook)
    assert delivery_attempt(delivery_id=delivery.pk) == "delivered"

    [request] = receiver.requests
    timestamp = request.headers["X-Readiness-Timestamp"]
    mac = hmac.new(webhook.plain_secret.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256)
    assert request.headers["X-Readiness-Signature"] == "sha256=" + mac.hexdigest()
    assert abs(int(timestamp) - time.time()) < 60
    assert request.headers["X-Readiness-Event"] == "signoff.decided"
    assert request.headers["X-Readiness-Delivery"] == KEY
    body = json.loads(request.body)
    assert body["event"] == "signoff.decided" and body["key"] == KEY
    assert body["release"] == {"id": release.pk, "service": "todo-app", "version": "1.0.0",
                               "environment": "production", "state": release.state, "drifted": False}
    assert body["url"] == f"https://readiness.example.com/releases/{release.pk}/signoff/"
    # What a receiver checks: the helper accepts the request and refuses a altered body or a stale stamp.
    assert signing.verify(webhook.plain_secret, request.body, request.headers)
    assert not signing.verify(webhook.plain_secret, request.body + b" ", request.headers)
    assert not signing.verify(webhook.plain_secret, request.body, request.headers, now=time.time() + 3600)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.status_code) == ("delivered", 1, 200)


@pytest.mark.django_db
def test_slack_and_teams_endpoints_get_their_own_message_shape(people, seed_teams, release, receiver):
    slack, _ = services.webhook_create(team=seed_teams["release"], name="slack", url=receiver.url, format="slack",
                                       events=[], by=people["admin"])
    teams, _ = services.webhook_create(team=seed_teams["release"], name="teams", url=receiver.url, format="teams",
                                       events=[], by=people["admin"])
    _publish(release, text="sam: <looks good> & ship")
    for hook in (slack, teams):
        assert delivery_attempt(delivery_id=Delivery.objects.get(webhook=hook).pk) == "delivered"
    slack_body, teams_body = (json.loads(r.body) for r in receiver.requests)
    assert slack_body["text"].startswith("Approved: Security for todo-app 1.0.0")
    section = slack_body["blocks"][0]["text"]
    assert section["type"] == "mrkdwn" and "&lt;looks good&gt; &amp; ship" in section["text"]
    assert f"/releases/{release.pk}/signoff/|Open in Readiness>" in section["text"]
    card = teams_body["attachments"][0]
    assert teams_body["type"] == "message" and card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["type"] == "AdaptiveCard"
    assert card["content"]["body"][0]["text"] == f"Approved: Security for {release}"
    assert card["content"]["actions"][0]["type"] == "Action.OpenUrl"


@pytest.mark.django_db
def test_publishing_or_delivering_twice_sends_once(release, webhook, receiver):
    _publish(release)
    _publish(release)  # the same event again (a retried service call): no second row
    [delivery] = Delivery.objects.filter(webhook=webhook)
    assert delivery_attempt(delivery_id=delivery.pk) == "delivered"
    assert delivery_attempt(delivery_id=delivery.pk) == "skipped"  # a redelivered task message
    assert len(receiver.requests) == 1


@pytest.mark.django_db
def test_a_500_is_retried_with_growing_pauses_and_then_delivered(release, webhook, receiver, settings):
    settings.READINESS_WEBHOOK_BACKOFF_SECONDS = 30
    receiver.statuses = [500, 503, 200]
    _publish(release)
    delivery = Delivery.objects.get(webhook=webhook)
    assert delivery_attempt(delivery_id=delivery.pk) == "retry"
    delivery.refresh_from_db()
    first_pause = delivery.next_attempt_at - timezone.now()
    assert (delivery.state, delivery.status_code) == ("retrying", 500)
    assert "HTTP 500" in delivery.error
    assert datetime.timedelta(seconds=25) < first_pause <= datetime.timedelta(seconds=30)
    assert delivery_attempt(delivery_id=delivery.pk) == "retry"
    delivery.refresh_from_db()
    assert delivery.next_attempt_at - timezone.now() > datetime.timedelta(seconds=110)  # 30 s × 4
    assert delivery_attempt(delivery_id=delivery.pk) == "delivered"
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.error) == ("delivered", 3, "")
    assert len(receiver.requests) == 3


@pytest.mark.django_db
def test_a_slow_endpoint_times_out_and_is_retried(release, webhook, receiver, settings):
    settings.READINESS_WEBHOOK_TIMEOUT_SECONDS = 1
    receiver.delay = 5
    _publish(release)
    delivery = Delivery.objects.get(webhook=webhook)
    started = time.monotonic()
    assert delivery_attempt(delivery_id=delivery.pk) == "retry"
    assert time.monotonic() - started < 3
    delivery.refresh_from_db()
    assert delivery.state == "retrying" and delivery.error == "no answer within 1 s"


@pytest.mark.django_db
def test_a_refusing_endpoint_fails_at_once_and_a_down_one_after_the_last_attempt(release, webhook, receiver,
                                                                                   settings):
    receiver.statuses = [400]
    _publish(release)
    assert delivery_attempt(delivery_id=Delivery.objects.get(webhook=webhook).pk) == "failed"

    settings.READINESS_WEBHOOK_MAX_ATTEMPTS = 2
    receiver.statuses = [502]
    _publish(release, key="second")
    second = Delivery.objects.get(webhook=webhook, key="second")
    assert [delivery_attempt(delivery_id=second.pk) for _ in range(3)] == ["retry", "failed", "skipped"]
    second.refresh_from_db()
    assert (second.state, second.attempts, second.status_code) == ("failed", 2, 502)


@pytest.mark.django_db
def test_events_go_only_to_webhooks_that_want_them_and_to_teams_taking_part(people, seed_teams, release, receiver):
    only_drift, _ = services.webhook_create(team=seed_teams["release"], name="drift", url=receiver.url,
                                            format="generic", events=[Event.DRIFT], by=people["admin"])
    outsiders = seed_teams["release"].__class__.objects.create(slug="outsiders", name="Outsiders")
    other, _ = services.webhook_create(team=outsiders, name="all", url=receiver.url, format="generic", events=[],
                                       by=people["admin"])
    _publish(release)
    assert not Delivery.objects.filter(webhook__in=[only_drift, other]).exists()
    _publish(release, key="drift:1", event=Event.DRIFT)
    assert list(Delivery.objects.values_list("webhook__name", flat=True)) == ["drift"]


@pytest.mark.django_db
def test_lost_messages_are_found_by_the_sweep(release, webhook):
    _publish(release)
    delivery = Delivery.objects.get(webhook=webhook)
    assert deliveries_due() == []
    Delivery.objects.filter(pk=delivery.pk).update(created_at=timezone.now() - datetime.timedelta(minutes=5))
    assert deliveries_due() == [delivery.pk]


def test_a_worker_retries_after_a_500_with_backoff(workers, release, webhook, receiver):
    """Through Celery: the task queued on commit, a 500, a retry a second later, then delivered."""
    receiver.statuses = [500, 200]
    workers.env["READINESS_WEBHOOK_BACKOFF_SECONDS"] = "1"
    workers.start()
    from django.db import transaction

    with transaction.atomic():
        _publish(release)
    wait_for_requests(receiver, 2, timeout=60)
    delivery = wait_for(lambda: Delivery.objects.filter(webhook=webhook, state="delivered").first(),
                        what="the delivery to be marked delivered")
    assert delivery.attempts == 2
    assert len(receiver.requests) == 2


@pytest.mark.django_db(transaction=True)
def test_a_dead_endpoint_slows_no_page_and_blocks_no_decision(client, people, seed_teams, release, receiver, broker):
    """The waiver request is saved and answered at once; its delivery waits in the queue (no worker
    here), and a receiver that never answers is never reached from the request."""
    receiver.delay = 30
    webhook, _ = services.webhook_create(team=seed_teams["platform"], name="platform", url=receiver.url,
                                         format="generic", events=[], by=people["admin"])
    item = release.items.filter(owner_team__slug="platform").first()
    client.force_login(people["engineer"])
    started = time.monotonic()
    response = client.post(reverse("waiver-create", args=[release.pk, item.pk]),
                           {"justification": "Vendor fix next sprint.",
                            "expires_on": (timezone.localdate() + datetime.timedelta(days=7)).isoformat()})
    elapsed = time.monotonic() - started
    assert response.status_code == 302
    assert elapsed < 2.0, f"the page took {elapsed:.1f}s"
    assert Waiver.objects.filter(item=item, state="requested").exists()
    delivery = Delivery.objects.get(webhook=webhook, event=Event.WAIVER_REQUESTED)
    assert delivery.state == "pending" and receiver.requests == []
    assert broker.llen("celery") == 1  # the delivery task, queued once the transaction committed
