"""The envelope and republish endpoints answer the official `docusign-esign` SDK: its requests are
accepted and the responses fit its models (EnvelopesInformation, ConnectFailureResults, Envelope,
EnvelopeSummary, ConnectLogs)."""

from __future__ import annotations

import json

from docusign_esign import ConnectApi, EnvelopesApi
from docusign_esign.models import ConnectFailureFilter, EnvelopeDefinition

from docusign_emulator.testing import TEST_ACCOUNT_1_ID
from docusign_emulator.tests.test_sdk_contract import assert_fits_model, sdk  # noqa: F401


def test_list_status_changes_and_envelope_fit_the_sdk_models(sdk, emulator_tls):  # noqa: F811
    made = emulator_tls.simulate_envelopes(TEST_ACCOUNT_1_ID, count=3)
    api = EnvelopesApi(sdk)
    info = api.list_status_changes(TEST_ACCOUNT_1_ID, from_date="2000-01-01", count="2")
    assert info.total_set_size == "3"
    assert info.result_set_size == "2"
    assert [e.envelope_id for e in info.envelopes] == [m["envelopeId"] for m in made[:2]]
    raw = sdk.rest_client.GET(
        f"{sdk.host}/v2.1/accounts/{TEST_ACCOUNT_1_ID}/envelopes",
        query_params={"from_date": "2000-01-01"},
        headers={"Authorization": f"Bearer {sdk.test_token.access_token}"},
    )
    assert_fits_model(json.loads(raw.data), "EnvelopesInformation")
    one = api.get_envelope(TEST_ACCOUNT_1_ID, made[0]["envelopeId"])
    assert one.status == "completed"


def test_create_envelope_and_retry_queue_fit_the_sdk_models(sdk):  # noqa: F811
    summary = EnvelopesApi(sdk).create_envelope(
        TEST_ACCOUNT_1_ID, envelope_definition=EnvelopeDefinition(status="sent", email_subject="Hi")
    )
    assert summary.status == "sent"
    results = ConnectApi(sdk).retry_event_for_envelopes(
        TEST_ACCOUNT_1_ID,
        connect_failure_filter=ConnectFailureFilter(
            envelope_ids=[summary.envelope_id, "unknown"], synchronous="false"
        ),
    )
    statuses = {r.envelope_id: r.status for r in results.retry_queue}
    assert statuses["unknown"] == "Failed"
    single = ConnectApi(sdk).retry_event_for_envelope(TEST_ACCOUNT_1_ID, summary.envelope_id)
    assert single.retry_queue
    raw = sdk.rest_client.PUT(
        f"{sdk.host}/v2.1/accounts/{TEST_ACCOUNT_1_ID}/connect/envelopes/retry_queue",
        body={"envelopeIds": ["unknown"], "synchronous": "false"},
        headers={
            "Authorization": f"Bearer {sdk.test_token.access_token}",
            "Content-Type": "application/json",
        },
    )
    assert_fits_model(json.loads(raw.data), "ConnectFailureResults")


def test_failure_entries_with_envelope_status_fit_connect_logs(sdk, emulator_tls):  # noqa: F811
    emulator_tls.add_failure(TEST_ACCOUNT_1_ID, envelope_id="e-1", status="completed")
    raw = sdk.rest_client.GET(
        f"{sdk.host}/v2.1/accounts/{TEST_ACCOUNT_1_ID}/connect/failures",
        headers={"Authorization": f"Bearer {sdk.test_token.access_token}"},
    )
    data = json.loads(raw.data)
    assert_fits_model(data, "ConnectLogs")
    assert data["failures"][0]["status"] == "completed"
