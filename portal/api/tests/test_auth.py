"""Who gets in: a valid key, sent as a Bearer token; everything else is a 401 that says why and
never repeats the secret."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apikeys.models import ApiKey
from apikeys.tests.factories import api_key_issue

pytestmark = pytest.mark.django_db


def _get(authorization: str):
    return APIClient().get("/api/v1/tenants/", HTTP_AUTHORIZATION=authorization)


def test_a_valid_key_gets_in_and_its_use_is_recorded():
    issued = api_key_issue()

    response = _get(f"Bearer {issued.secret}")

    assert response.status_code == 200
    assert ApiKey.objects.get().last_used_at is not None


@pytest.mark.parametrize(
    ("header", "says"),
    [
        ("Token abc", "Bearer"),
        ("Bearer", "Bearer"),
        ("Bearer not-a-key", "malformed"),
        ("Bearer ppk_00000000_guess", "not valid"),
    ],
)
def test_a_bad_credential_is_a_401_that_says_why(header, says):
    api_key_issue()

    response = _get(header)

    assert response.status_code == 401
    assert says in response.json()["detail"]
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_tampered_secret_with_a_real_prefix_is_refused():
    issued = api_key_issue()

    response = _get(f"Bearer {issued.secret[:-2]}xx")

    assert response.status_code == 401
    assert issued.secret not in response.content.decode()


def test_an_expired_key_is_refused():
    issued = api_key_issue(expires_at=timezone.now() + timedelta(seconds=5))
    ApiKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = _get(f"Bearer {issued.secret}")

    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_the_secret_is_never_logged(caplog):
    issued = api_key_issue()
    caplog.set_level("DEBUG")

    _get(f"Bearer {issued.secret}")
    _get(f"Bearer {issued.secret[:-2]}xx")

    assert issued.secret[12:] not in caplog.text


def test_the_schema_and_reference_pages_are_public_and_served_from_our_static_files(client):
    schema = client.get("/api/v1/schema/")
    docs = client.get("/api/v1/docs/")
    redoc = client.get("/api/v1/redoc/")

    assert schema.status_code == 200
    assert b"openapi: 3" in schema.content
    assert b"Idempotency-Key" in schema.content
    assert docs.status_code == redoc.status_code == 200
    assert b"/static/drf_spectacular_sidecar/swagger-ui-dist/" in docs.content
    assert b"cdn" not in docs.content.lower()
    assert b"/static/drf_spectacular_sidecar/redoc/" in redoc.content
    assert (
        client.get(
            "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
        ).status_code
        == 200
    )
