"""The emulator answers the official `docusign-esign` SDK (6.1.0) as DocuSign does: every request
it sends is accepted and every response parses into its models with no unknown members."""

from __future__ import annotations

import json
import re

import docusign_esign
import pytest
from docusign_esign import ApiClient, ConnectApi
from docusign_esign.client.api_exception import ApiException
from docusign_esign.client.api_response import RESTClientObject
from docusign_esign.client.auth.oauth import Account, Link, OAuthToken, OAuthUserInfo, Organization
from docusign_esign.client.configuration import Configuration
from docusign_esign.models import (
    ConnectConfigResults,
    ConnectCustomConfiguration,
    ConnectEventData,
    ConnectLogs,
    ConnectOAuthConfig,
)

from docusign_emulator.testing import (
    TEST_ACCOUNT_1_ID,
    TEST_ACCOUNT_1_SHARD,
    TEST_ACCOUNT_2_ID,
    TEST_ADMIN_USER_ID,
    TEST_CLIENT_ID,
    TEST_NON_ADMIN_USER_ID,
    TEST_PARTNER_ACCOUNT_ID,
    TEST_PRIVATE_KEY_PEM,
)

OAUTH_MODELS = {
    "OAuthToken": OAuthToken,
    "OAuthUserInfo": OAuthUserInfo,
    "Account": Account,
    "Organization": Organization,
    "Link": Link,
}


def _model(name: str):
    return OAUTH_MODELS.get(name) or getattr(docusign_esign.models, name)


def assert_fits_model(data, type_name: str, path: str = "$") -> None:
    """Every member of `data` is in the model's attribute_map, recursively."""
    if match := re.fullmatch(r"list\[(.+)\]", type_name):
        assert isinstance(data, list), path
        for i, item in enumerate(data):
            assert_fits_model(item, match[1], f"{path}[{i}]")
        return
    if type_name.startswith("dict(") or type_name in ("str", "int", "bool", "object"):
        if type_name == "str":
            assert isinstance(data, str), f"{path} should be a string on the wire: {data!r}"
        return
    model = _model(type_name)
    instance = model()
    assert isinstance(data, dict), path
    by_wire = {wire: attr for attr, wire in instance.attribute_map.items()}
    unknown = set(data) - set(by_wire)
    assert not unknown, f"{path}: members unknown to {type_name}: {unknown}"
    for wire, value in data.items():
        if value is None:
            continue
        assert_fits_model(value, instance.swagger_types[by_wire[wire]], f"{path}.{wire}")


@pytest.fixture
def sdk(emulator_tls_server, emulator_tls):
    """An ApiClient trusting the emulator's CA, signed in by JWT as the two-account admin."""
    emulator_tls.grant_consent(TEST_ADMIN_USER_ID, TEST_CLIENT_ID, ["signature", "impersonation"])
    client = ApiClient(
        host=emulator_tls_server.base_uri(TEST_ACCOUNT_1_SHARD) + "/restapi",
        oauth_host_name=emulator_tls_server.auth_host,
    )
    config = Configuration()
    config.ssl_ca_cert = emulator_tls_server.ca_file
    client.rest_client = RESTClientObject(configuration=config)
    token = client.request_jwt_user_token(
        client_id=TEST_CLIENT_ID,
        user_id=TEST_ADMIN_USER_ID,
        oauth_host_name=emulator_tls_server.auth_host,
        private_key_bytes=TEST_PRIVATE_KEY_PEM,
        expires_in=3600,
        scopes=["signature", "impersonation"],
    )
    client.test_token = token
    return client


def _raw(response) -> dict:
    return json.loads(response.data)


def test_jwt_user_token_over_tls_returns_one_hour_bearer_without_refresh_token(sdk):
    token = sdk.test_token
    assert isinstance(token, OAuthToken)
    assert token.token_type == "Bearer"
    assert int(token.expires_in) == 3600
    assert token.refresh_token is None
    assert sdk.default_headers["Authorization"] == f"Bearer {token.access_token}"


def test_jwt_without_consent_raises_with_consent_required_body(emulator_tls_server, emulator_tls):
    client = ApiClient(oauth_host_name=emulator_tls_server.auth_host)
    config = Configuration()
    config.ssl_ca_cert = emulator_tls_server.ca_file
    client.rest_client = RESTClientObject(configuration=config)
    with pytest.raises(ApiException) as info:
        client.request_jwt_user_token(
            TEST_CLIENT_ID, TEST_NON_ADMIN_USER_ID, emulator_tls_server.auth_host,
            TEST_PRIVATE_KEY_PEM, 3600, ["signature", "impersonation"],
        )  # fmt: skip
    assert info.value.status == 400
    assert json.loads(info.value.body)["error"] == "consent_required"


def test_get_user_info_parses_into_sdk_models(sdk, emulator_tls_server):
    info = sdk.get_user_info(sdk.test_token.access_token)
    assert isinstance(info, OAuthUserInfo)
    assert info.sub == TEST_ADMIN_USER_ID
    assert [a.account_id for a in info.accounts] == [TEST_ACCOUNT_1_ID, TEST_ACCOUNT_2_ID]
    default = info.accounts[0]
    assert (
        default.is_default == "True"
    )  # a JSON boolean, which the SDK's str model turns into "True"
    assert default.base_uri == emulator_tls_server.base_uri(TEST_ACCOUNT_1_SHARD)
    assert default.organization  # the SDK types it as str; the wire has an object (API.md 1.7)
    raw = sdk.rest_client.GET(
        f"https://{emulator_tls_server.auth_host}/oauth/userinfo",
        headers={"Authorization": f"Bearer {sdk.test_token.access_token}"},
    )
    data = json.loads(raw.data)
    assert data["accounts"][0]["is_default"] is True
    assert data["accounts"][0]["organization"]["links"][0]["rel"] == "self"
    assert set(data) == set(OAuthUserInfo().attribute_map.values())
    for account in data["accounts"]:
        assert set(account) <= set(Account().attribute_map.values())
        assert {"account_id", "is_default", "account_name", "base_uri"} <= set(account)


def _sdk_config(**overrides) -> ConnectCustomConfiguration:
    fields = {
        "configuration_type": "custom",
        "name": "Portal webhook (SDK)",
        "url_to_publish_to": "https://hooks.partner.example/ds/connect",
        "allow_envelope_publish": "true",
        "all_users": "true",
        "delivery_mode": "SIM",
        "events": ["envelope-sent", "envelope-completed"],
        "event_data": ConnectEventData(version="restv2.1", format="json", include_data=[]),
        "requires_acknowledgement": "true",
        "include_hmac": "true",
        "integrator_managed": "true",
    }
    fields.update(overrides)
    return ConnectCustomConfiguration(**fields)


def test_connect_configuration_lifecycle_through_connect_api(sdk, emulator_tls):
    api = ConnectApi(sdk)
    created = api.create_configuration(
        TEST_ACCOUNT_1_ID, connect_custom_configuration=_sdk_config()
    )
    assert isinstance(created, ConnectCustomConfiguration)
    assert created.connect_id.isdigit()
    assert created.integrator_managed == "true"
    assert created.include_hmac == "true"
    assert created.event_data.version == "restv2.1"

    listed = api.list_configurations(TEST_ACCOUNT_1_ID)
    assert isinstance(listed, ConnectConfigResults)
    assert listed.total_records == "1"
    assert listed.configurations[0].connect_id == created.connect_id

    got = api.get_configuration(TEST_ACCOUNT_1_ID, created.connect_id)
    assert isinstance(got, ConnectConfigResults)  # the wrapper, not a bare config (API.md 2)
    assert got.configurations[0].name == "Portal webhook (SDK)"

    update = _sdk_config(connect_id=created.connect_id, name="Renamed", integrator_managed="false")
    updated = api.update_configuration(TEST_ACCOUNT_1_ID, connect_custom_configuration=update)
    assert updated.name == "Renamed"
    assert updated.integrator_managed == "false"

    raw = api.list_configurations(TEST_ACCOUNT_1_ID, _preload_content=False)
    assert_fits_model(_raw(raw), "ConnectConfigResults")
    raw_get = api.get_configuration(TEST_ACCOUNT_1_ID, created.connect_id, _preload_content=False)
    assert_fits_model(_raw(raw_get), "ConnectConfigResults")

    deleted = api.delete_configuration(TEST_ACCOUNT_1_ID, created.connect_id)
    assert deleted is None
    assert api.list_configurations(TEST_ACCOUNT_1_ID).total_records == "0"
    # The SDK's create records the creating integration key for integrator-managed signing.
    assert emulator_tls.connect_configs(TEST_ACCOUNT_1_ID) == []


def test_create_response_fits_model_and_records_client_id(sdk, emulator_tls):
    api = ConnectApi(sdk)
    raw = api.create_configuration(
        TEST_ACCOUNT_1_ID, connect_custom_configuration=_sdk_config(), _preload_content=False
    )
    data = _raw(raw)
    assert_fits_model(data, "ConnectCustomConfiguration")
    stored = emulator_tls.connect_configs(TEST_ACCOUNT_1_ID)
    assert stored[0]["_client_id"] == TEST_CLIENT_ID


def test_create_without_configuration_type_answers_custom(sdk):
    # API.md 7: the SDK leaves configuration_type out of the body when it is None.
    api = ConnectApi(sdk)
    created = api.create_configuration(
        TEST_ACCOUNT_1_ID, connect_custom_configuration=_sdk_config(configuration_type=None)
    )
    assert created.configuration_type == "custom"
    assert created.connect_id.isdigit()


def test_connect_oauth_config_calls_through_connect_api(sdk):
    api = ConnectApi(sdk)
    config = ConnectOAuthConfig(
        authorization_server_url="https://idp.partner.example/oauth2/token",
        client_id="connect-client",
        client_secret="s3cr3t",
        scope="api://x/.default",
        custom_parameters={"audience": "listener"},
    )
    created = api.create_connect_o_auth_config(TEST_ACCOUNT_1_ID, connect_o_auth_config=config)
    assert created.client_id == "connect-client"
    got = api.get_connect_o_auth_config(TEST_ACCOUNT_1_ID)
    assert got.custom_parameters == {"audience": "listener"}
    raw = api.get_connect_o_auth_config(TEST_ACCOUNT_1_ID, _preload_content=False)
    assert_fits_model(_raw(raw), "ConnectOAuthConfig")
    config.scope = "other"
    updated = api.update_connect_o_auth_config(TEST_ACCOUNT_1_ID, connect_o_auth_config=config)
    assert updated.scope == "other"
    api.delete_connect_o_auth_config(TEST_ACCOUNT_1_ID)
    with pytest.raises(ApiException) as info:
        api.get_connect_o_auth_config(TEST_ACCOUNT_1_ID)
    assert info.value.status == 404


def test_failure_and_log_lists_parse_into_connect_logs(sdk):
    api = ConnectApi(sdk)
    failures = api.list_event_failure_logs(TEST_ACCOUNT_1_ID)
    logs = api.list_event_logs(TEST_ACCOUNT_1_ID)
    assert isinstance(failures, ConnectLogs)
    assert isinstance(logs, ConnectLogs)
    assert failures.total_records == "0"


def test_sdk_error_body_is_docusign_error_details(sdk):
    api = ConnectApi(sdk)
    with pytest.raises(ApiException) as info:
        api.get_configuration(TEST_ACCOUNT_1_ID, "999")
    body = json.loads(info.value.body)
    assert set(body) == {"errorCode", "message"}
    assert_fits_model(body, "ErrorDetails")


def test_create_envelope_with_event_notification_publishes_to_it(sdk, emulator_tls, listener):
    from docusign_esign import EnvelopeDefinition, EnvelopesApi, EventNotification
    from docusign_esign.models import EnvelopeSummary

    emulator_tls.set_partner_hmac_keys(TEST_PARTNER_ACCOUNT_ID, ["partner-key"])
    notification = EventNotification(
        url=listener.hook_url,
        delivery_mode="SIM",
        events=["envelope-sent", "envelope-completed"],
        event_data=ConnectEventData(version="restv2.1", format="json", include_data=[]),
        logging_enabled="true",
        require_acknowledgment="true",
        include_hmac="true",
        integrator_managed="true",
    )
    definition = EnvelopeDefinition(
        email_subject="Please sign", status="sent", event_notification=notification
    )
    api = EnvelopesApi(sdk)
    summary = api.create_envelope(TEST_ACCOUNT_1_ID, envelope_definition=definition)

    assert isinstance(summary, EnvelopeSummary)
    assert summary.status == "sent"
    raw = api.create_envelope(
        TEST_ACCOUNT_1_ID,
        envelope_definition=EnvelopeDefinition(email_subject="Draft", status="created"),
        _preload_content=False,
    )
    assert_fits_model(_raw(raw), "EnvelopeSummary")
    [received] = listener.requests
    message = received.json()
    assert message["event"] == "envelope-sent"
    assert message["data"]["envelopeId"] == summary.envelope_id
    assert isinstance(message["configurationId"], int)
    assert received.headers["X-DocuSign-Signature-1"]  # the partner's key: integratorManaged
