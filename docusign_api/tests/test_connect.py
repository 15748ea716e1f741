"""Connect configurations, OAuth for Connect, failures and logs against the emulator's REST host."""

from __future__ import annotations

from dataclasses import replace

import pytest

from docusign_api import (
    ConnectConfiguration,
    ConnectOAuthConfig,
    DocuSignAuthError,
    DocuSignNotFound,
    DocuSignPermissionDenied,
    DocuSignRequestError,
    EventData,
)
from docusign_emulator.testing import (
    TEST_ACCOUNT_1_ID,
    TEST_ACCOUNT_1_SHARD,
    TEST_ACCOUNT_2_ID,
    TEST_ACCOUNT_2_SHARD,
    TEST_CLIENT_ID,
    TEST_NON_ADMIN_USER_ID,
    TEST_SINGLE_ADMIN_USER_ID,
)


def portal_config(**changes) -> ConnectConfiguration:
    config = ConnectConfiguration(
        name="Partner Portal webhook",
        url_to_publish_to="https://hooks.partner.example/ds/connect",
        allow_envelope_publish=True,
        all_users=True,
        delivery_mode="SIM",
        events=("envelope-sent", "envelope-completed", "recipient-completed"),
        event_data=EventData(version="restv2.1", format="json", include_data=("recipients",)),
        requires_acknowledgement=True,
        enable_log=True,
        include_hmac=True,
        integrator_managed=True,
    )
    return replace(config, **changes)


def test_create_returns_the_server_copy_with_a_numeric_connect_id(account1):
    created = account1.create(portal_config())

    assert created.connect_id is not None
    assert created.connect_id.isdigit()  # a numeric string, not a GUID (API.md 2.1)
    assert created.allow_envelope_publish is True
    assert created.managed_fields() == portal_config().managed_fields()


def test_list_and_get_return_typed_configurations(account1):
    first = account1.create(portal_config())
    second = account1.create(portal_config(name="Second", url_to_publish_to="https://b.example"))

    listed = account1.list()
    fetched = account1.get(second.connect_id)

    assert [c.connect_id for c in listed] == [first.connect_id, second.connect_id]
    assert fetched == second
    assert fetched.name == "Second"


def test_list_of_an_account_without_configurations_is_empty(account1):
    assert account1.list() == []


def test_update_sends_the_full_body_with_connect_id(account1, emulator):
    created = account1.create(portal_config())
    # Replace mode: anything missing from the PUT body would be lost, so this proves the body
    # is complete.
    emulator.config(connect_put_mode="replace")
    changed = replace(created, events=("envelope-completed",), enable_log=False)

    updated = account1.update(changed)

    assert updated.connect_id == created.connect_id
    assert updated.managed_fields() == changed.managed_fields()
    assert account1.get(created.connect_id).managed_fields() == changed.managed_fields()


def test_update_needs_a_connect_id(account1):
    with pytest.raises(ValueError, match="connect_id"):
        account1.update(portal_config())


def test_delete_removes_the_configuration(account1):
    created = account1.create(portal_config())

    account1.delete(created.connect_id)

    assert account1.list() == []
    with pytest.raises(DocuSignNotFound) as caught:
        account1.get(created.connect_id)
    assert caught.value.status == 404


def test_deleting_an_unknown_configuration_is_not_found(account1):
    with pytest.raises(DocuSignNotFound):
        account1.delete("999999")


def test_managed_fields_detect_drift_made_behind_the_portals_back(account1, emulator):
    desired = portal_config()
    created = account1.create(desired)
    emulator.drift_edit(
        TEST_ACCOUNT_1_ID, created.connect_id, pausePublish="true", disabledBy="DocuSign"
    )

    actual = account1.get(created.connect_id)
    assert desired.drift(actual) == {"pause_publish": (False, True)}

    repaired = account1.update(replace(desired, connect_id=created.connect_id))
    assert desired.managed_fields() == repaired.managed_fields()
    assert repaired.disabled_by == "DocuSign"  # read-only, ignored by the comparison


def test_unmodelled_wire_fields_survive_a_read_modify_update(account1, emulator):
    created = account1.create(portal_config())
    emulator.drift_edit(TEST_ACCOUNT_1_ID, created.connect_id, salesforceApiVersion="52.0")
    emulator.config(connect_put_mode="replace")

    fetched = account1.get(created.connect_id)
    account1.update(replace(fetched, name="Renamed"))

    assert fetched.extra == {"salesforceApiVersion": "52.0"}
    assert account1.get(created.connect_id).extra == {"salesforceApiVersion": "52.0"}


def test_events_without_sim_delivery_are_an_invalid_request(account1):
    with pytest.raises(DocuSignRequestError) as caught:
        account1.create(portal_config(delivery_mode="Aggregate"))

    assert caught.value.status == 400
    assert caught.value.error_code == "INVALID_REQUEST_PARAMETER"


def test_a_non_admin_gets_permission_denied(client, emulator, emulator_server):
    tokens = emulator.issue_tokens(TEST_CLIENT_ID, TEST_NON_ADMIN_USER_ID)
    api = client.connect(
        base_uri=emulator_server.base_uri(TEST_ACCOUNT_1_SHARD),
        account_id=TEST_ACCOUNT_1_ID,
        access_token=tokens["access_token"],
    )

    with pytest.raises(DocuSignPermissionDenied) as caught:
        api.list()

    assert caught.value.status == 403
    assert caught.value.error_code == "USER_LACKS_PERMISSIONS"


def test_an_expired_access_token_is_an_auth_error(account1, emulator, admin_tokens):
    emulator.expire_tokens(access_token=admin_tokens["access_token"])

    with pytest.raises(DocuSignAuthError) as caught:
        account1.list()

    assert caught.value.status == 401
    assert caught.value.error_code == "AUTHORIZATION_INVALID_TOKEN"
    assert not caught.value.is_terminal


def test_a_user_outside_the_account_is_an_auth_error(client, emulator, emulator_server):
    tokens = emulator.issue_tokens(TEST_CLIENT_ID, TEST_SINGLE_ADMIN_USER_ID)
    api = client.connect(
        base_uri=emulator_server.base_uri(TEST_ACCOUNT_1_SHARD),
        account_id=TEST_ACCOUNT_1_ID,
        access_token=tokens["access_token"],
    )

    with pytest.raises(DocuSignAuthError) as caught:
        api.list()

    assert caught.value.error_code == "PARTNER_AUTHENTICATION_FAILED"


def test_connect_disabled_on_the_account_is_a_request_error(account1, emulator):
    emulator.set_connect_enabled(TEST_ACCOUNT_1_ID, False)

    with pytest.raises(DocuSignRequestError) as caught:
        account1.list()

    assert caught.value.error_code == "CONNECT_NOT_ENABLED"


# -- OAuth for Connect -------------------------------------------------------------------

CONNECT_OAUTH = ConnectOAuthConfig(
    authorization_server_url="https://idp.partner.example/oauth2/token",
    client_id="connect-client",
    client_secret="connect-client-secret-1",
    scope="api://listener/.default",
    custom_parameters={"audience": "listener"},
)


def test_connect_oauth_configuration_lifecycle(account1):
    with pytest.raises(DocuSignNotFound):
        account1.oauth_get()

    created = account1.oauth_create(CONNECT_OAUTH)
    fetched = account1.oauth_get()
    updated = account1.oauth_update(replace(CONNECT_OAUTH, scope="api://other/.default"))
    account1.oauth_delete()

    assert created == CONNECT_OAUTH
    assert fetched.managed_fields() == CONNECT_OAUTH.managed_fields()
    assert updated.scope == "api://other/.default"
    with pytest.raises(DocuSignNotFound):
        account1.oauth_get()


# -- failures and logs -------------------------------------------------------------------


def test_failures_and_logs_list_deliveries_to_a_dead_listener(account1, emulator):
    dead_listener = "http://127.0.0.1:9/hook"  # the discard port: nothing listens
    created = account1.create(
        portal_config(url_to_publish_to=dead_listener, include_hmac=False, integrator_managed=False)
    )
    emulator.publish_event(TEST_ACCOUNT_1_ID, "envelope-completed", envelope_id="env-1")

    failures = account1.failures(from_date="2020-01-01")
    logs = account1.logs()

    assert [(f.connect_id, f.envelope_id) for f in failures] == [(created.connect_id, "env-1")]
    assert failures[0].failure_id
    assert failures[0].error
    assert failures[0].retry_count == 0
    assert logs
    assert {entry.connect_id for entry in logs} == {created.connect_id}
    assert logs[0].log_id
    assert logs[0].raw["configUrl"] == dead_listener


def test_each_connect_api_is_bound_to_its_account(client, emulator_server, admin_tokens):
    api2 = client.connect(
        base_uri=emulator_server.base_uri(TEST_ACCOUNT_2_SHARD),
        account_id=TEST_ACCOUNT_2_ID,
        access_token=admin_tokens["access_token"],
    )
    api2.create(portal_config(name="Account two"))
    api1 = client.connect(
        base_uri=emulator_server.base_uri(TEST_ACCOUNT_1_SHARD),
        account_id=TEST_ACCOUNT_1_ID,
        access_token=admin_tokens["access_token"],
    )

    assert [c.name for c in api2.list()] == ["Account two"]
    assert api1.list() == []
    assert admin_tokens["access_token"] not in repr(api1)
