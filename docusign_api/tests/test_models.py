"""Wire conversion of the dataclasses: DocuSign's all-strings format never leaks out."""

from datetime import UTC, datetime

import pytest

from docusign_api import (
    Account,
    ConnectConfiguration,
    ConnectOAuthConfig,
    EventData,
    TokenSet,
    UserInfo,
)

# Shaped like the recorded demo-account response in API.md 2.1 (key order and "" values included),
# plus one field the library does not model.
RECORDED_WIRE = {
    "connectId": "22210641",
    "configurationType": "custom",
    "urlToPublishTo": "https://hooks.partner.example/ds/connect",
    "name": "PartnerCo webhook",
    "allowEnvelopePublish": "true",
    "deliveryMode": "SIM",
    "enableLog": "true",
    "includeDocuments": "false",
    "includeCertificateOfCompletion": "false",
    "requiresAcknowledgement": "true",
    "signMessageWithX509Certificate": "false",
    "useSoapInterface": "false",
    "includeTimeZoneInformation": "false",
    "includeOAuth": "false",
    "includeHMAC": "true",
    "integratorManaged": "true",
    "includeEnvelopeVoidReason": "false",
    "includeSenderAccountasCustomField": "false",
    "envelopeEvents": [],
    "recipientEvents": [],
    "events": ["envelope-sent", "envelope-completed"],
    "soapNamespace": "",
    "allUsers": "true",
    "allUsersExcept": "false",
    "includeCertSoapHeader": "false",
    "requireMutualTls": "false",
    "includeDocumentFields": "false",
    "pausePublish": "false",
    "eventData": {"version": "restv2.1", "format": "json", "includeData": ["recipients"]},
    "enableOAuthPerConfiguration": "false",
    "disabledBy": "",
    "salesforceApiVersion": "52.0",
}


def desired() -> ConnectConfiguration:
    return ConnectConfiguration(
        name="PartnerCo webhook",
        url_to_publish_to="https://hooks.partner.example/ds/connect",
        allow_envelope_publish=True,
        all_users=True,
        delivery_mode="SIM",
        events=["envelope-completed", "envelope-sent"],
        event_data=EventData(version="restv2.1", format="json", include_data=["recipients"]),
        enable_log=True,
        include_hmac=True,
        integrator_managed=True,
    )


def test_from_wire_gives_real_bools_tuples_and_ids():
    config = ConnectConfiguration.from_wire(RECORDED_WIRE)

    assert config.connect_id == "22210641"
    assert config.allow_envelope_publish is True
    assert config.include_documents is False
    assert config.events == ("envelope-sent", "envelope-completed")
    assert config.event_data == EventData(
        version="restv2.1", format="json", include_data=("recipients",)
    )
    assert config.disabled_by is None
    assert config.extra == {"salesforceApiVersion": "52.0"}


def test_to_wire_speaks_docusign_strings_and_keeps_unknown_fields():
    wire = ConnectConfiguration.from_wire(RECORDED_WIRE).to_wire()

    assert wire["allowEnvelopePublish"] == "true"
    assert wire["includeSenderAccountasCustomField"] == "false"
    assert wire["connectId"] == "22210641"
    assert wire["salesforceApiVersion"] == "52.0"
    assert "disabledBy" not in wire  # read-only on DocuSign's side


def test_round_trip_is_lossless():
    config = ConnectConfiguration.from_wire(RECORDED_WIRE)

    assert ConnectConfiguration.from_wire(config.to_wire()) == config


def test_new_configuration_has_no_connect_id_on_the_wire():
    assert "connectId" not in desired().to_wire()


def test_from_wire_accepts_json_booleans_too():
    # DocuSign accepts JSON booleans on input and answers strings (API.md 2.1).
    config = ConnectConfiguration.from_wire({**RECORDED_WIRE, "allUsers": False, "enableLog": True})

    assert config.all_users is False
    assert config.enable_log is True


def test_missing_flags_take_docusign_defaults():
    config = ConnectConfiguration.from_wire({"name": "n", "urlToPublishTo": "https://x.example"})

    assert config.allow_envelope_publish is False
    assert config.requires_acknowledgement is True
    assert config.event_data == EventData()
    assert config.connect_id is None


def test_a_non_boolean_flag_is_refused():
    with pytest.raises(ValueError, match="boolean"):
        ConnectConfiguration.from_wire({**RECORDED_WIRE, "allUsers": "yes"})


def test_string_flags_are_refused_in_the_typed_form():
    with pytest.raises(TypeError, match="all_users"):
        ConnectConfiguration(name="n", url_to_publish_to="https://x.example", all_users="true")


def test_managed_fields_match_for_the_server_copy_of_the_desired_config():
    actual = ConnectConfiguration.from_wire(RECORDED_WIRE)

    assert desired().managed_fields() == actual.managed_fields()
    assert desired().drift(actual) == {}


def test_managed_fields_see_drift_in_a_flag_and_in_events():
    actual = ConnectConfiguration.from_wire(
        {**RECORDED_WIRE, "pausePublish": "true", "events": ["envelope-sent"]}
    )

    assert desired().drift(actual) == {
        "pause_publish": (False, True),
        "events": (["envelope-completed", "envelope-sent"], ["envelope-sent"]),
    }


def test_managed_fields_ignore_server_only_and_secret_fields():
    actual = ConnectConfiguration.from_wire(
        {**RECORDED_WIRE, "disabledBy": "admin", "password": "masked", "newServerField": "1"}
    )

    assert desired().managed_fields() == actual.managed_fields()
    assert "connect_id" not in actual.managed_fields()
    assert "disabled_by" not in actual.managed_fields()


def test_configuration_repr_hides_the_listener_password():
    config = ConnectConfiguration(
        name="n", url_to_publish_to="https://x.example", user_name="u", password="pw-123456"
    )

    assert "pw-123456" not in repr(config)
    assert config.to_wire()["password"] == "pw-123456"


def test_connect_oauth_config_round_trip_and_secret_hidden_from_repr():
    config = ConnectOAuthConfig(
        authorization_server_url="https://idp.partner.example/oauth2/token",
        client_id="connect-client",
        client_secret="s3cr3t-value",
        scope="api://x/.default",
        custom_parameters={"audience": "listener"},
    )

    wire = config.to_wire()

    assert wire == {
        "authorizationServerUrl": "https://idp.partner.example/oauth2/token",
        "clientId": "connect-client",
        "clientSecret": "s3cr3t-value",
        "scope": "api://x/.default",
        "customParameters": {"audience": "listener"},
    }
    assert ConnectOAuthConfig.from_wire(wire) == config
    assert "s3cr3t-value" not in repr(config)


def test_connect_oauth_config_reads_custom_parameters_sent_as_a_json_string():
    config = ConnectOAuthConfig.from_wire(
        {"authorizationServerUrl": "u", "clientId": "c", "customParameters": '{"a": "b"}'}
    )

    assert config.custom_parameters == {"a": "b"}


@pytest.mark.parametrize(("wire", "expected"), [(True, True), ("true", True), ("false", False)])
def test_account_is_default_accepts_bool_or_string(wire, expected):
    account = Account.from_wire(
        {"account_id": "a", "account_name": "A", "base_uri": "https://x", "is_default": wire}
    )

    assert account.is_default is expected


def test_userinfo_reads_accounts_and_organization():
    info = UserInfo.from_wire(
        {
            "sub": "u1",
            "name": "First Last",
            "given_name": "First",
            "family_name": "Last",
            "email": "f@example.com",
            "created": "2015-08-13T22:03:03.45",
            "accounts": [
                {
                    "account_id": "a1",
                    "account_name": "A",
                    "base_uri": "https://na3.docusign.net",
                    "is_default": False,
                },
                {
                    "account_id": "a2",
                    "account_name": "B",
                    "base_uri": "https://eu.docusign.net",
                    "is_default": True,
                    "organization": {"organization_id": "o1", "links": []},
                },
            ],
        }
    )

    assert info.default_account == Account("a2", "B", "https://eu.docusign.net", True, "o1")
    assert info.accounts[0].organization_id is None


def test_token_set_repr_hides_tokens():
    tokens = TokenSet(
        access_token="access-secret-xyz",
        token_type="Bearer",
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
        refresh_token="refresh-secret-xyz",
    )

    assert "access-secret-xyz" not in repr(tokens)
    assert "refresh-secret-xyz" not in str(tokens)
    assert tokens.expires_within(60, now=datetime(2029, 12, 31, 23, 59, 30, tzinfo=UTC))
    assert not tokens.expires_within(60, now=datetime(2029, 12, 31, 23, 0, tzinfo=UTC))
