"""Idempotency-Key on POST: a retry gets the first answer without the work being done again; the
same key with another body is a 422; concurrent requests with one key make one tenant."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone
from rest_framework.test import APIClient

from apikeys.models import IdempotentRequest
from apikeys.tests.factories import api_key_issue
from common.models import AuditEvent
from tenants.models import Invite, Tenant
from tenants.tests.factories import IntegrationFactory, TenantFactory

URL = "/api/v1/tenants/"


def _body(integration_id: int, slug: str = "northwind") -> dict:
    return {
        "name": "Northwind",
        "slug": slug,
        "admin_email": "nora@northwind.example",
        "integration": integration_id,
    }


@pytest.mark.django_db
def test_a_retry_returns_the_first_answer_and_creates_nothing_more(api):
    client = api()
    body = _body(IntegrationFactory().pk)

    first = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert again["Location"] == first["Location"]
    assert Tenant.objects.count() == 1
    assert AuditEvent.objects.filter(action="tenant.create").count() == 1


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_a_422_that_says_so(api):
    client = api()
    integration_id = IntegrationFactory().pk
    client.post(URL, _body(integration_id), format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    response = client.post(
        URL, _body(integration_id, slug="other"), format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert "different" in response.json()["detail"]
    assert list(Tenant.objects.values_list("slug", flat=True)) == ["northwind"]


@pytest.mark.django_db
def test_keys_are_per_api_key_and_forgotten_after_24_hours(api):
    tenant = TenantFactory()
    url = f"{URL}{tenant.pk}/invites/"
    one, two = api(), api()

    first = one.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="invite-1")
    replay = one.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="invite-1")
    other_key = two.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="invite-1")
    IdempotentRequest.objects.update(created_at=timezone.now() - timedelta(hours=25))
    after_a_day = one.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="invite-1")

    assert replay.json()["link"] == first.json()["link"]
    assert other_key.json()["link"] != first.json()["link"]
    assert after_a_day.json()["link"] not in (first.json()["link"], other_key.json()["link"])
    assert Invite.objects.filter(tenant=tenant).count() == 3


@pytest.mark.django_db
def test_a_refused_request_is_replayed_as_refused(api):
    client = api()
    body = {**_body(IntegrationFactory().pk), "admin_email": "nope"}

    first = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    again = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k-2")

    assert first.status_code == again.status_code == 422
    assert again["Content-Type"] == "application/problem+json"
    assert again.json() == first.json()


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["", "x" * 256, "tab\there"])
def test_a_malformed_idempotency_key_is_a_400_naming_the_header(api, bad):
    response = api().post(URL, _body(1), format="json", HTTP_IDEMPOTENCY_KEY=bad)

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert not Tenant.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_make_one_tenant():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises every writer, so nothing runs at once")
    issued = api_key_issue()
    body = _body(IntegrationFactory().pk)
    workers = 8
    barrier = threading.Barrier(workers)
    answers: list[int] = []

    def post():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
        try:
            barrier.wait(timeout=30)
            response = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="same")
            answers.append(response.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(answers) == workers
    assert Tenant.objects.count() == 1
    # Each is the first answer (201, replayed) or "the first is still in progress" (409).
    assert set(answers) <= {201, 409}
    assert 201 in answers
    assert AuditEvent.objects.filter(action="tenant.create").count() == 1


@pytest.mark.django_db
def test_a_kept_answer_is_encrypted_at_rest(api):
    tenant = TenantFactory()
    link = (
        api()
        .post(f"{URL}{tenant.pk}/invites/", {}, format="json", HTTP_IDEMPOTENCY_KEY="k")
        .json()["link"]
    )

    with connection.cursor() as cursor:
        cursor.execute("SELECT response_body FROM apikeys_idempotentrequest")
        (stored,) = cursor.fetchone()

    assert link.split("/consent/")[1].rstrip("/") not in stored
