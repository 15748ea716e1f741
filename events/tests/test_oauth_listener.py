"""OAuth for Connect with the portal as the authorization server: the token endpoint, and Bearer
tokens on the receiver (good, expired, wrongly signed, alg=none)."""

import base64
import time

import jwt
import pytest

from docusign_emulator.testing import TEST_ACCOUNT_1_ID
from events.models import ConnectEvent, ListenerSettings
from events.services.listener import (
    listener_settings_update,
    listener_token_audience,
    listener_token_issuer,
)
from events.tests.helpers import HOOK_PATH, KEY_OLD, encode, message, post, signed_headers
from tenants.tests.factories import IntegrationFactory, TenantAccountFactory

TOKEN_PATH = "/hooks/docusign/oauth/token"
CLIENT_ID = "docusign-connect"
CLIENT_SECRET = "connect-client-secret-0123456789abcdef"


def _basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def oauth_tenant(db):
    account = TenantAccountFactory(
        tenant__integration=IntegrationFactory(), account_id=TEST_ACCOUNT_1_ID
    )
    listener_settings_update(
        integration=account.tenant.integration,
        actor=None,
        require_hmac=False,
        basic_username="",
        oauth_enabled=True,
        oauth_client_id=CLIENT_ID,
        oauth_client_secret=CLIENT_SECRET,
        oauth_token_ttl_s=300,
    )
    return account.tenant


def _token(client, **extra):
    return client.post(TOKEN_PATH, {"grant_type": "client_credentials"}, **extra)


@pytest.mark.django_db
def test_token_endpoint_issues_a_short_lived_token_for_basic_client_credentials(
    client, oauth_tenant
):
    response = _token(client, HTTP_AUTHORIZATION=_basic(CLIENT_ID, CLIENT_SECRET))
    assert response.status_code == 200
    data = response.json()
    assert data["token_type"] == "Bearer"
    assert data["expires_in"] == 300
    assert response["Cache-Control"] == "no-store"
    header = jwt.get_unverified_header(data["access_token"])
    assert header["alg"] == "HS256"


@pytest.mark.django_db
def test_token_endpoint_accepts_credentials_in_the_form_body(client, oauth_tenant):
    response = client.post(
        TOKEN_PATH,
        {
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )
    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("user", "password"), [(CLIENT_ID, "wrong-secret"), ("someone-else", CLIENT_SECRET), ("", "")]
)
def test_token_endpoint_refuses_wrong_client_credentials(client, oauth_tenant, user, password):
    response = _token(client, HTTP_AUTHORIZATION=_basic(user, password))
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client"}


@pytest.mark.django_db
def test_token_endpoint_refuses_other_grants_and_get(client, oauth_tenant):
    response = client.post(
        TOKEN_PATH, {"grant_type": "password"}, HTTP_AUTHORIZATION=_basic(CLIENT_ID, CLIENT_SECRET)
    )
    assert response.status_code == 400
    assert response.json() == {"error": "unsupported_grant_type"}
    assert client.get(TOKEN_PATH).status_code == 405


@pytest.mark.django_db
def test_bearer_token_from_the_endpoint_authenticates_an_event(client, oauth_tenant):
    token = _token(client, HTTP_AUTHORIZATION=_basic(CLIENT_ID, CLIENT_SECRET)).json()
    body = encode(message())
    response = post(client, body, HTTP_AUTHORIZATION="Bearer " + token["access_token"])
    assert response.status_code == 200
    assert ConnectEvent.objects.get().auth_method == ConnectEvent.AuthMethod.BEARER


def _claims(**override):
    now = int(time.time())
    claims = {
        "iss": listener_token_issuer(),
        "aud": listener_token_audience(),
        "sub": CLIENT_ID,
        "iat": now,
        "exp": now + 300,
    }
    claims.update(override)
    return claims


def _signing_secret(tenant):
    return ListenerSettings.objects.get(integration=tenant.integration).oauth_signing_secret


def _alg_none_token():
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=")
    import json

    payload = base64.urlsafe_b64encode(json.dumps(_claims()).encode()).rstrip(b"=")
    return (header + b"." + payload + b".").decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(
            lambda t: jwt.encode(_claims(exp=int(time.time()) - 60), _signing_secret(t)),
            id="expired",
        ),
        pytest.param(
            lambda t: jwt.encode(_claims(), "not-the-portal-secret-0123456789abcdef"),
            id="wrong-key",
        ),
        pytest.param(lambda t: _alg_none_token(), id="alg-none"),
        pytest.param(
            lambda t: jwt.encode(_claims(aud="https://elsewhere.example/"), _signing_secret(t)),
            id="wrong-audience",
        ),
        pytest.param(
            lambda t: jwt.encode(_claims(iss="https://evil.example/"), _signing_secret(t)),
            id="wrong-issuer",
        ),
        pytest.param(
            lambda t: jwt.encode(_claims(sub="another-client"), _signing_secret(t)),
            id="wrong-subject",
        ),
        pytest.param(
            lambda t: jwt.encode(_claims(), _signing_secret(t), algorithm="HS512"),
            id="other-algorithm",
        ),
        pytest.param(lambda t: "not-a-jwt", id="garbage"),
    ],
)
def test_bad_bearer_tokens_are_refused(client, oauth_tenant, make_token):
    body = encode(message())
    response = post(client, body, HTTP_AUTHORIZATION="Bearer " + make_token(oauth_tenant))
    assert response.status_code == 401
    assert response.json()["error"]
    assert ConnectEvent.objects.count() == 0


@pytest.mark.django_db
def test_rotating_the_signing_secret_voids_issued_tokens(client, oauth_tenant):
    from events.services.listener import listener_signing_secret_rotate

    token = _token(client, HTTP_AUTHORIZATION=_basic(CLIENT_ID, CLIENT_SECRET)).json()
    listener_signing_secret_rotate(integration=oauth_tenant.integration, actor=None)
    body = encode(message())
    response = post(client, body, HTTP_AUTHORIZATION="Bearer " + token["access_token"])
    assert response.status_code == 401


@pytest.mark.django_db
def test_valid_bearer_does_not_excuse_a_wrong_hmac_signature(client, oauth_tenant):
    token = _token(client, HTTP_AUTHORIZATION=_basic(CLIENT_ID, CLIENT_SECRET)).json()
    body = encode(message())
    headers = signed_headers(body, KEY_OLD)  # no key stored: the signature cannot verify
    response = post(client, body, HTTP_AUTHORIZATION="Bearer " + token["access_token"], **headers)
    assert response.status_code == 401


@pytest.mark.django_db(transaction=True)
def test_emulator_fetches_a_token_and_delivers_with_bearer(
    emulator, live_server, emulator_integration
):
    TenantAccountFactory(tenant__integration=emulator_integration, account_id=TEST_ACCOUNT_1_ID)
    listener_settings_update(
        integration=emulator_integration,
        actor=None,
        require_hmac=False,
        basic_username="",
        oauth_enabled=True,
        oauth_client_id=CLIENT_ID,
        oauth_client_secret=CLIENT_SECRET,
    )
    emulator.drift_create(
        TEST_ACCOUNT_1_ID,
        {
            "name": "PartnerPortal: oauth",
            "configurationType": "custom",
            "urlToPublishTo": live_server.url + HOOK_PATH,
            "allowEnvelopePublish": "true",
            "deliveryMode": "SIM",
            "eventData": {"version": "restv2.1"},
            "events": ["envelope-completed"],
            "integratorManaged": "true",
            "includeOAuth": "true",
            "enableOAuthPerConfiguration": "true",
            "oAuthConfiguration": {
                "authorizationServerUrl": live_server.url + TOKEN_PATH,
                "clientId": CLIENT_ID,
                "clientSecret": CLIENT_SECRET,
            },
        },
    )
    deliveries = emulator.publish_event(TEST_ACCOUNT_1_ID, "envelope-completed")
    assert deliveries[0]["status"] == "delivered", deliveries
    assert ConnectEvent.objects.get().auth_method == ConnectEvent.AuthMethod.BEARER
