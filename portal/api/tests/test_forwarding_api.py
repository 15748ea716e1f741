"""Forwarding through the partner API: destinations created, read, changed and removed; the signing
secret shown once (an idempotent retry included) and rotated with two live; pause and resume;
deliveries with their attempts; the three replays, audited as the staff pages audit them; every
bad field a problem document naming it."""

import importlib
from datetime import timedelta

import pytest
from django.apps import apps as django_apps
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from apikeys.models import IdempotentRequest
from apikeys.tests.factories import api_key_issue
from common.models import AuditEvent
from events.models import ConnectEvent
from forwarding.models import Delivery, DeliveryAttempt, Destination, DestinationSecret
from forwarding.services.destinations import destination_create, destination_signing_secrets
from tenants.tests.factories import IntegrationFactory, TenantFactory

pytestmark = pytest.mark.django_db

NEW = {"name": "Back office", "url": "https://hooks.partner.example/ds"}


@pytest.fixture(autouse=True)
def _no_development_hosts(settings):
    settings.OUTBOUND_ALLOWED_HOSTS = []


@pytest.fixture
def tenant(db):
    return TenantFactory()


def _destination_of(tenant, name: str, url: str) -> Destination:
    destination, _ = destination_create(
        integration=tenant.integration,
        name=name,
        url=url,
        event_types=[],
        tenant_ids=[],
        actor=None,
    )
    return destination


@pytest.fixture
def destination(tenant):
    return _destination_of(tenant, NEW["name"], NEW["url"])


def _event(tenant, n: int, **fields) -> ConnectEvent:
    return ConnectEvent.objects.create(
        tenant=tenant,
        account_id="acct",
        configuration_id="1",
        event="envelope-sent",
        envelope_id=f"env-{n}",
        generated_date_time=f"2026-01-01T00:00:{n:02d}.0000000Z",
        payload={"event": "envelope-sent", "data": {"n": n}},
        auth_method=ConnectEvent.AuthMethod.HMAC,
        **fields,
    )


def _delivery(destination, tenant, n: int, **fields) -> Delivery:
    event = _event(tenant, n)
    return Delivery.objects.create(
        destination=destination, event=event, tenant=tenant, envelope_id=event.envelope_id, **fields
    )


def _audit(action: str) -> AuditEvent:
    return AuditEvent.objects.get(action=action)


def test_destinations_and_deliveries_are_readable_with_forwarding_read_and_never_a_secret(
    api, tenant, destination
):
    client = api(scopes=["forwarding:read"])
    _delivery(destination, tenant, 1)

    listed = client.get(f"/api/v1/integrations/{tenant.integration_id}/destinations/").json()
    one = client.get(f"/api/v1/destinations/{destination.pk}/").json()
    deliveries = client.get(f"/api/v1/destinations/{destination.pk}/deliveries/").json()
    dead = client.get(f"/api/v1/destinations/{destination.pk}/deliveries/", {"status": "dead"})

    assert [d["name"] for d in listed["results"]] == ["Back office"]
    assert listed["results"][0]["backlog"] == 1
    assert one == listed["results"][0]
    assert "secret" not in str(listed).lower() + str(one).lower()
    assert [d["envelope_id"] for d in deliveries["results"]] == ["env-1"]
    assert dead.json()["results"] == []
    assert client.get("/api/v1/destinations/999999/deliveries/").status_code == 404
    assert client.get("/api/v1/integrations/999999/destinations/").status_code == 404
    assert client.post(f"/api/v1/destinations/{destination.pk}/pause/").status_code == 403


def test_a_key_that_could_read_events_keeps_reading_destinations_after_the_upgrade():
    migration = importlib.import_module("apikeys.migrations.0002_forwarding_read_scope")
    reader = api_key_issue(scopes=["events:read"]).api_key
    other = api_key_issue(scopes=["tenants:read"]).api_key

    migration.grant_forwarding_read(django_apps, None)

    reader.refresh_from_db()
    other.refresh_from_db()
    assert reader.scopes == ["events:read", "forwarding:read"]
    assert other.scopes == ["tenants:read"]


def test_a_new_destination_shows_its_secret_once_and_that_secret_signs(api, tenant):
    client = api(scopes=["forwarding:write", "forwarding:read"])
    body = {
        **NEW,
        "event_types": ["envelope-completed", "envelope-declined"],
        "tenants": [tenant.pk],
        "max_in_flight": 2,
    }

    response = client.post(
        f"/api/v1/integrations/{tenant.integration_id}/destinations/", body, format="json"
    )

    assert response.status_code == 201, response.content
    created = response.json()
    destination = Destination.objects.get()
    assert response["Location"] == f"/api/v1/destinations/{destination.pk}/"
    assert created["signing_secret"].startswith("whsec_")
    assert destination_signing_secrets(destination_id=destination.pk, now=timezone.now()) == [
        created["signing_secret"]
    ]
    assert created["event_types"] == ["envelope-completed", "envelope-declined"]
    assert (created["tenants"], created["max_in_flight"], created["paused"]) == (
        [tenant.pk],
        2,
        False,
    )
    shown_again = client.get(response["Location"]).content.decode()
    assert created["signing_secret"] not in shown_again
    assert "signing_secret" not in shown_again
    row = _audit("forwarding.destination.create")
    assert row.actor_label == client.api_key.label
    assert created["signing_secret"] not in row.message


def test_an_idempotent_retry_answers_the_same_but_never_shows_the_secret_again(api, tenant):
    client = api()
    url = f"/api/v1/integrations/{tenant.integration_id}/destinations/"

    first = client.post(url, NEW, format="json", HTTP_IDEMPOTENCY_KEY="add-back-office")
    again = client.post(url, NEW, format="json", HTTP_IDEMPOTENCY_KEY="add-back-office")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert again["Location"] == first["Location"]
    assert Destination.objects.count() == 1
    secret = first.json()["signing_secret"]
    assert secret.startswith("whsec_")
    assert again.json() == {**first.json(), "signing_secret": None}
    assert secret not in IdempotentRequest.objects.get().response_body


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"url": "http://hooks.partner.example/ds"}, "url", "https://"),
        ({"url": "https://user:pw@hooks.partner.example/ds"}, "url", "user name and password"),
        ({"url": "https://10.1.2.3/ds"}, "url", "private"),
        ({"url": "https://127.0.0.1:8443/ds"}, "url", "loopback"),
        ({"url": "https://[::1]/ds"}, "url", "loopback"),
        ({"url": "not a url"}, "url", "https://"),
        ({"name": "  "}, "name", "blank"),
        ({"event_types": ["envelope-completed", "envelope-exploded"]}, "event_types.1", "Unknown"),
        ({"event_types": "envelope-completed"}, "event_types", "list"),
        ({"tenants": [999999]}, "tenants", "No tenant"),
        ({"max_in_flight": 0}, "max_in_flight", "greater than or equal to 1"),
        ({"secret": "whsec_mine"}, "secret", "Unknown field"),
    ],
)
def test_each_bad_field_is_a_problem_naming_it_and_nothing_is_created(
    api, tenant, fields, field, words
):
    response = api().post(
        f"/api/v1/integrations/{tenant.integration_id}/destinations/",
        {**NEW, **fields},
        format="json",
    )

    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == [field]
    assert words in errors[0]["message"]
    assert not Destination.objects.exists()


def test_a_tenant_of_another_integration_is_refused_in_the_filter(api, tenant):
    stranger = TenantFactory(integration=IntegrationFactory())

    response = api().post(
        f"/api/v1/integrations/{tenant.integration_id}/destinations/",
        {**NEW, "tenants": [tenant.pk, stranger.pk]},
        format="json",
    )

    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "tenants"
    assert f"Tenant {stranger.pk} belongs to another integration" in error["message"]


def test_development_hosts_allowed_by_the_setting_may_be_loopback_over_http(api, tenant, settings):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]

    response = api().post(
        f"/api/v1/integrations/{tenant.integration_id}/destinations/",
        {**NEW, "url": "http://127.0.0.1:9000/hooks"},
        format="json",
    )

    assert response.status_code == 201, response.content


def test_a_change_touches_only_the_fields_sent_and_is_audited(api, tenant, destination):
    client = api()
    destination.tenants.set([tenant])

    response = client.patch(
        f"/api/v1/destinations/{destination.pk}/",
        {"event_types": ["envelope-completed"], "max_in_flight": 8},
        format="json",
    )
    refused = client.patch(
        f"/api/v1/destinations/{destination.pk}/", {"url": "ftp://x.example/"}, format="json"
    )

    assert response.status_code == 200, response.content
    changed = response.json()
    assert (changed["name"], changed["url"]) == (NEW["name"], NEW["url"])
    assert (changed["event_types"], changed["max_in_flight"]) == (["envelope-completed"], 8)
    assert changed["tenants"] == [tenant.pk]
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "url"
    destination.refresh_from_db()
    assert destination.url == NEW["url"]
    assert AuditEvent.objects.filter(action="forwarding.destination.update").count() == 1
    assert _audit("forwarding.destination.update").actor_label == client.api_key.label


def test_removing_a_destination_removes_its_deliveries_and_is_audited(api, tenant, destination):
    _delivery(destination, tenant, 1)
    client = api()

    response = client.delete(f"/api/v1/destinations/{destination.pk}/")

    assert response.status_code == 204
    assert not Destination.objects.exists()
    assert not Delivery.objects.exists()
    assert client.get(f"/api/v1/destinations/{destination.pk}/").status_code == 404
    assert client.delete(f"/api/v1/destinations/{destination.pk}/").status_code == 404
    assert "Back office" in _audit("forwarding.destination.delete").message


def test_a_rotation_shows_the_new_secret_once_and_both_sign_until_the_overlap_ends(
    api, destination, settings
):
    client = api()
    (old,) = destination_signing_secrets(destination_id=destination.pk, now=timezone.now())
    url = f"/api/v1/destinations/{destination.pk}/rotate-secret/"

    response = client.post(url, HTTP_IDEMPOTENCY_KEY="rotate-1")
    retried = client.post(url, HTTP_IDEMPOTENCY_KEY="rotate-1")

    assert response.status_code == 200, response.content
    rotated = response.json()
    new = rotated["signing_secret"]
    assert new.startswith("whsec_")
    assert new != old
    now = timezone.now()
    assert destination_signing_secrets(destination_id=destination.pk, now=now) == [new, old]
    current, previous = rotated["live_secrets"]
    assert current["expires_at"] is None
    overlap_end = now + timedelta(seconds=settings.FORWARDING_SECRET_OVERLAP_S)
    assert (
        abs((timezone.datetime.fromisoformat(previous["expires_at"]) - overlap_end).total_seconds())
        < 60
    )
    assert retried.json() == {**rotated, "signing_secret": None}
    assert DestinationSecret.objects.count() == 2  # the retry rotated nothing
    row = _audit("forwarding.destination.rotate_secret")
    assert new not in row.message
    assert old not in row.message


def test_pause_holds_deliveries_and_resume_sends_the_backlog(api, tenant, destination):
    client = api()
    later = timezone.now() + timedelta(hours=3)
    _delivery(destination, tenant, 1, next_attempt_at=later)
    _delivery(destination, tenant, 2, next_attempt_at=later)
    base = f"/api/v1/destinations/{destination.pk}"

    paused = client.post(f"{base}/pause/", {"reason": "Deploying v2"}, format="json")
    paused_again = client.post(f"{base}/pause/", {}, format="json")
    resumed = client.post(f"{base}/resume/")
    resumed_again = client.post(f"{base}/resume/")

    assert paused.status_code == 200, paused.content
    assert (paused.json()["paused"], paused.json()["pause_reason"]) == (True, "Deploying v2")
    assert paused_again.status_code == 409
    assert "already paused" in paused_again.json()["detail"]
    assert resumed.status_code == 200
    assert resumed.json()["backlog"] == 2
    assert resumed.json()["destination"]["paused"] is False
    assert resumed_again.status_code == 409
    assert all(d.next_attempt_at < later for d in Delivery.objects.all())  # due now
    assert _audit("forwarding.destination.pause").actor_label == client.api_key.label
    assert "2 deliveries pending" in _audit("forwarding.destination.resume").message


def test_deliveries_carry_their_attempts_newest_first_in_a_fixed_number_of_queries(
    api, tenant, destination, django_assert_max_num_queries
):
    client = api(scopes=["forwarding:read"])
    now = timezone.now()
    for n in range(1, 6):
        delivery = _delivery(destination, tenant, n, status=Delivery.Status.DEAD)
        DeliveryAttempt.objects.create(
            delivery=delivery,
            destination=destination,
            attempted_at=now - timedelta(minutes=2),
            status_code=None,
            latency_ms=3050,
            error="Timed out waiting for the destination.",
        )
        DeliveryAttempt.objects.create(
            delivery=delivery,
            destination=destination,
            attempted_at=now - timedelta(minutes=1),
            status_code=502,
            latency_ms=41,
            response_excerpt="<html>Bad gateway</html>",
            error="HTTP 502 (text/html).",
        )

    url = f"/api/v1/destinations/{destination.pk}/deliveries/"
    client.get(url)  # the key's rate window exists from here on, as it does for a busy key
    with django_assert_max_num_queries(12):
        response = client.get(url)

    rows = response.json()["results"]
    assert len(rows) == 5
    assert rows[0]["webhook_id"] == f"msg_{rows[0]['event']}_{destination.pk}"
    newest, oldest = rows[0]["attempts"]
    assert (newest["status_code"], newest["latency_ms"], newest["succeeded"]) == (502, 41, False)
    assert newest["response_excerpt"] == "<html>Bad gateway</html>"
    assert newest["error"] == "HTTP 502 (text/html)."
    assert (oldest["status_code"], oldest["error"]) == (
        None,
        "Timed out waiting for the destination.",
    )


def test_replays_through_the_api_are_audited_as_the_staff_pages_audit_them(
    api, staff_client, tenant, destination
):
    dead = _delivery(destination, tenant, 1, status=Delivery.Status.DEAD)
    client = api()
    staff = staff_client(Role.ADMIN)
    detail = reverse("destination-detail", kwargs={"destination_id": destination.pk})

    by_api = client.post(f"/api/v1/destinations/{destination.pk}/deliveries/{dead.pk}/replay/")
    Delivery.objects.filter(pk=dead.pk).update(status=Delivery.Status.DEAD)
    staff.post(detail, {"action": "replay_one", "delivery_id": dead.pk})

    assert by_api.status_code == 202
    assert by_api.json() == {"replayed": 1}
    api_row, staff_row = AuditEvent.objects.filter(action="forwarding.replay.one").order_by("pk")
    fields = ("target_type", "target_id", "target_label", "message", "outcome")
    assert [getattr(api_row, f) for f in fields] == [getattr(staff_row, f) for f in fields]
    assert api_row.actor_label == client.api_key.label


def test_replaying_one_delivery_needs_it_finished_and_of_this_destination(api, tenant, destination):
    pending = _delivery(destination, tenant, 1)
    other = _destination_of(tenant, "Other", "https://other.partner.example/")
    client = api()

    still_pending = client.post(
        f"/api/v1/destinations/{destination.pk}/deliveries/{pending.pk}/replay/"
    )
    elsewhere = client.post(f"/api/v1/destinations/{other.pk}/deliveries/{pending.pk}/replay/")

    assert still_pending.status_code == 409
    assert "still pending" in still_pending.json()["detail"]
    assert elsewhere.status_code == 404
    assert not AuditEvent.objects.filter(action__startswith="forwarding.replay").exists()


def test_every_dead_delivery_is_replayed_and_the_rest_left_alone(api, tenant, destination):
    for n in (1, 2):
        _delivery(destination, tenant, n, status=Delivery.Status.DEAD)
    delivered = _delivery(destination, tenant, 3, status=Delivery.Status.SUCCEEDED)

    response = api().post(
        f"/api/v1/destinations/{destination.pk}/replay-dead/", HTTP_IDEMPOTENCY_KEY="dead-1"
    )

    assert response.status_code == 202
    assert response.json() == {"replayed": 2}
    assert Delivery.objects.filter(status=Delivery.Status.PENDING).count() == 2
    delivered.refresh_from_db()
    assert delivered.status == Delivery.Status.SUCCEEDED
    assert _audit("forwarding.replay.dead").message == "Replayed 2 dead deliveries to 'Back office'"


def test_a_tenants_events_in_a_range_are_replayed_including_ones_never_sent(
    api, tenant, destination
):
    now = timezone.now()
    inside = [_event(tenant, n) for n in (1, 2)]
    ConnectEvent.objects.filter(pk__in=[e.pk for e in inside]).update(
        received_at=now - timedelta(hours=1)
    )
    _event(tenant, 3)  # received now: outside the range

    response = api().post(
        f"/api/v1/destinations/{destination.pk}/replay-tenant-events/",
        {
            "tenant": tenant.pk,
            "since": (now - timedelta(hours=2)).isoformat(),
            "until": (now - timedelta(minutes=30)).isoformat(),
        },
        format="json",
    )

    assert response.status_code == 202, response.content
    assert response.json() == {"replayed": 2}
    assert sorted(Delivery.objects.values_list("event_id", flat=True)) == [e.pk for e in inside]
    row = _audit("forwarding.replay.tenant_range")
    assert (row.target_type, row.target_id) == ("tenant", str(tenant.pk))


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"since": "2026-12-02T00:00:00Z", "until": "2026-12-01T00:00:00Z"}, "until", "after"),
        ({"since": "2026-12-01T00:00:00Z", "until": "2026-12-01T00:00:00Z"}, "until", "after"),
        ({"since": "2026-01-01T00:00:00Z", "until": "2026-12-01T00:00:00Z"}, "until", "30 days"),
        ({"since": "yesterday"}, "since", "format"),
        ({"tenant": 999999}, "tenant", "No tenant"),
        ({"tenant": "stranger"}, "tenant", "another integration"),
        ({"until": None}, "until", "null"),
    ],
)
def test_a_bad_replay_range_is_a_problem_naming_the_field(
    api, tenant, destination, change, field, words
):
    stranger = TenantFactory(integration=IntegrationFactory())
    body = {"tenant": tenant.pk, "since": "2026-12-01T00:00:00Z", "until": "2026-12-02T00:00:00Z"}
    body.update(change)
    if body["tenant"] == "stranger":
        body["tenant"] = stranger.pk

    response = api().post(
        f"/api/v1/destinations/{destination.pk}/replay-tenant-events/", body, format="json"
    )

    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    (error,) = response.json()["errors"]
    assert error["field"] == field
    assert words in error["message"]
    assert not AuditEvent.objects.filter(action__startswith="forwarding.replay").exists()
