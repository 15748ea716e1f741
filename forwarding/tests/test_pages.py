"""The forwarding pages: destinations with their health on the integration, a new signing secret
shown once and stored encrypted, bad URLs refused with a field error, resume and replay by a
click, the role matrix, and a paused destination under the dashboard's "Needs a human"."""

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from common.models import AuditEvent
from events.models import ConnectEvent
from events.tests.helpers import message
from forwarding.models import Delivery, Destination, DestinationSecret

pytestmark = pytest.mark.django_db


@pytest.fixture
def destination(destination_with_secret):
    return destination_with_secret[0]


def test_adding_a_destination_shows_its_secret_once_and_stores_it_encrypted(
    staff_client, tenant, sink
):
    client = staff_client(Role.ADMIN)
    url = reverse("integration-destinations", kwargs={"integration_id": tenant.integration_id})
    response = client.post(
        url,
        {
            "name": "Orders service",
            "url": sink.url,
            "event_types": "envelope-completed, recipient-completed",
            "tenants": tenant.slug,
            "max_in_flight": "4",
        },
    )
    assert response.status_code == 200
    secret = response.context["new_secret"]
    assert secret.startswith("whsec_")
    assert secret in response.content.decode()
    destination = Destination.objects.get()
    assert destination.event_types == ["envelope-completed", "recipient-completed"]
    assert list(destination.tenants.all()) == [tenant]
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM forwarding_destinationsecret")
        (stored,) = cursor.fetchone()
    assert secret not in stored
    assert DestinationSecret.objects.get().secret == secret
    # Never again: neither the list nor the destination page shows it.
    assert secret not in client.get(url).content.decode()
    detail = reverse("destination-detail", kwargs={"destination_id": destination.pk})
    assert secret not in client.get(detail).content.decode()
    audit = AuditEvent.objects.get(action="forwarding.destination.create")
    assert secret not in audit.message


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.example.com/in", "Use https://"),
        ("https://user:pw@hooks.example.com/in", "Remove the user name"),
        ("https://10.0.0.7/in", "private"),
        ("not a url", "full URL"),
    ],
)
def test_a_bad_url_is_refused_with_a_field_error_and_nothing_is_stored(
    staff_client, tenant, url, message, settings
):
    settings.OUTBOUND_ALLOWED_HOSTS = []
    response = staff_client(Role.ADMIN).post(
        reverse("integration-destinations", kwargs={"integration_id": tenant.integration_id}),
        {"name": "x", "url": url, "event_types": "", "tenants": "", "max_in_flight": "4"},
    )
    assert response.status_code == 400
    assert message in response.context["form"].errors["url"][0]
    assert not Destination.objects.exists()


def test_an_event_name_docusign_does_not_send_is_a_field_error(staff_client, tenant, sink):
    response = staff_client(Role.ADMIN).post(
        reverse("integration-destinations", kwargs={"integration_id": tenant.integration_id}),
        {
            "name": "x",
            "url": sink.url,
            "event_types": "envelope-completed, envelope-finished",
            "max_in_flight": "4",
        },
    )
    assert response.status_code == 400
    assert response.context["form"].errors["event_types"] == [
        "Unknown event: envelope-finished. Use DocuSign's event names, such as envelope-completed."
    ]
    assert not Destination.objects.exists()


def test_an_unknown_tenant_slug_is_a_field_error(staff_client, tenant, sink):
    response = staff_client(Role.ADMIN).post(
        reverse("integration-destinations", kwargs={"integration_id": tenant.integration_id}),
        {"name": "x", "url": sink.url, "tenants": "nobody-here", "max_in_flight": "4"},
    )
    assert response.status_code == 400
    assert "nobody-here" in response.context["form"].errors["tenants"][0]


def test_the_integration_page_shows_each_destinations_health(staff_client, tenant, destination):
    response = staff_client(Role.ADMIN).get(
        reverse("integration-edit", kwargs={"integration_id": tenant.integration_id})
    )
    assert response.status_code == 200
    (row,) = response.context["health"]
    assert row["destination"] == destination
    assert "Partner app" in response.content.decode()


def test_a_paused_destination_needs_a_human_and_resumes_by_a_click(
    staff_client, destination, django_capture_on_commit_callbacks
):
    now = timezone.now()
    Destination.objects.filter(pk=destination.pk).update(
        paused_at=now, failing_since=now, pause_reason="HTTP 503 (text/html)."
    )
    client = staff_client(Role.OPERATOR)
    dashboard = client.get(reverse("dashboard"))
    paused = dashboard.context["forwarding_attention"]  # listed apart from the tenants' reasons
    assert paused["count"] == 1
    assert "Partner app" in dashboard.content.decode()

    detail = reverse("destination-detail", kwargs={"destination_id": destination.pk})
    assert "Resume delivering" in client.get(detail).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(detail, {"action": "resume"})
    assert response.status_code == 302
    destination.refresh_from_db()
    assert not destination.is_paused


def test_replaying_a_dead_delivery_by_a_click_sends_it_again(
    staff_client, destination, tenant, sink, django_capture_on_commit_callbacks
):
    payload = message(account_id=tenant.account.account_id)
    event = ConnectEvent.objects.create(
        tenant=tenant,
        account_id=tenant.account.account_id,
        configuration_id="1",
        event=payload["event"],
        envelope_id=payload["data"]["envelopeId"],
        generated_date_time=payload["generatedDateTime"],
        payload=payload,
        auth_method="hmac",
    )
    delivery = Delivery.objects.create(
        destination=destination, event=event, tenant=tenant, status=Delivery.Status.DEAD
    )
    client = staff_client(Role.OPERATOR)
    detail = reverse("destination-detail", kwargs={"destination_id": destination.pk})
    assert "dead" in client.get(detail + "?status=dead").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(detail, {"action": "replay_one", "delivery_id": delivery.pk})
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert len(sink.received) == 1


def test_support_can_look_but_not_rotate_or_replay(staff_client, destination):
    client = staff_client(Role.SUPPORT)
    detail = reverse("destination-detail", kwargs={"destination_id": destination.pk})
    assert client.get(detail).status_code == 200
    assert client.post(detail, {"action": "rotate"}).status_code == 403
    assert client.post(detail, {"action": "replay_dead"}).status_code == 403
    assert DestinationSecret.objects.filter(destination=destination).count() == 1


def test_an_operator_may_replay_but_not_change_the_destination(staff_client, destination):
    client = staff_client(Role.OPERATOR)
    detail = reverse("destination-detail", kwargs={"destination_id": destination.pk})
    assert client.post(detail, {"action": "replay_dead"}).status_code == 302
    assert client.post(detail, {"action": "delete"}).status_code == 403
    assert Destination.objects.filter(pk=destination.pk).exists()
