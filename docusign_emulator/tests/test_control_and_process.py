"""Control plane, fault injection, persistence, concurrency and the process itself."""

from __future__ import annotations

import json
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from docusign_emulator.testing import (
    TEST_ACCOUNT_1_ID,
    TEST_ADMIN_USER_ID,
    TEST_CLIENT_ID,
    TEST_SEED,
    EmulatorServer,
)
from docusign_emulator.tests.conftest import bearer, config_body, connect_url, web


@pytest.fixture
def token(emulator):
    return emulator.issue_tokens(TEST_CLIENT_ID, TEST_ADMIN_USER_ID)["access_token"]


def test_calls_are_counted_per_route_and_account(emulator, emulator_server, token):
    emulator.reset_calls()
    web.get(connect_url(emulator_server), headers=bearer(token))
    web.get(connect_url(emulator_server, tail="/5"), headers=bearer(token))
    web.post(f"{emulator_server.url}/oauth/token", data={"grant_type": "refresh_token"})
    calls = emulator.calls()
    assert calls["GET /restapi/connect"] == 1
    assert calls["GET /restapi/connect/{id}"] == 1
    assert calls["POST /oauth/token"] == 1
    assert calls["POST /oauth/token refresh_token"] == 1
    assert calls["by_account"][TEST_ACCOUNT_1_ID]["GET /restapi/connect"] == 1


def test_status_fault_hits_the_next_n_matching_requests(emulator, emulator_server, token):
    emulator.fault("GET /restapi/connect", "status", status=503, count=2)
    codes = [
        web.get(connect_url(emulator_server), headers=bearer(token)).status_code for _ in range(3)
    ]
    assert codes == [503, 503, 200]


def test_html_and_reset_faults(emulator, emulator_server):
    emulator.fault("POST /oauth/token", "html", status=502)
    resp = web.post(f"{emulator_server.url}/oauth/token", data={"grant_type": "x"})
    assert resp.status_code == 502
    assert resp.headers["Content-Type"].startswith("text/html")
    emulator.fault("POST /oauth/token", "reset")
    with pytest.raises(requests.ConnectionError):
        web.post(f"{emulator_server.url}/oauth/token", data={"grant_type": "x"})
    assert (
        web.post(f"{emulator_server.url}/oauth/token", data={"grant_type": "x"}).status_code == 400
    )


def test_timeout_fault_delays_then_drops(emulator, emulator_server):
    emulator.fault("GET /oauth/userinfo", "timeout", delay_s=2)
    with pytest.raises(requests.exceptions.ReadTimeout):
        web.get(f"{emulator_server.url}/oauth/userinfo", timeout=0.5)
    emulator.clear_faults()


def test_error_rate_one_fails_everything(emulator, emulator_server, token):
    emulator.config(error_rate=1.0)
    assert web.get(connect_url(emulator_server), headers=bearer(token)).status_code == 503
    emulator.config(error_rate=0.0)


def test_bad_control_input_gets_error_shape(emulator, emulator_server):
    resp = web.post(f"{emulator_server.url}/_emulator/config", json={"nope": 1})
    assert resp.status_code == 400
    assert "error" in resp.json()
    resp = web.post(f"{emulator_server.url}/_emulator/faults", data=b"not json")
    assert resp.status_code == 400


def test_drift_create_edit_delete_show_up_in_rest(emulator, emulator_server, token):
    made = emulator.drift_create(TEST_ACCOUNT_1_ID, config_body(name="Dup"))
    emulator.drift_edit(
        TEST_ACCOUNT_1_ID, made["connectId"], urlToPublishTo="https://evil.example/"
    )
    listed = web.get(connect_url(emulator_server), headers=bearer(token)).json()
    assert listed["configurations"][0]["urlToPublishTo"] == "https://evil.example/"
    emulator.drift_delete(TEST_ACCOUNT_1_ID, made["connectId"])
    assert (
        web.get(connect_url(emulator_server), headers=bearer(token)).json()["totalRecords"] == "0"
    )


def test_state_endpoint_and_reset(emulator, emulator_server):
    state = emulator.state()
    assert {a["account_id"] for a in state["accounts"]} == {
        a["account_id"] for a in TEST_SEED["accounts"]
    }
    emulator.reset()
    assert emulator.state()["accounts"] == []


def test_two_hundred_concurrent_requests_without_errors(emulator, emulator_server, token):
    emulator.config(burst_limit=1000)

    def call(_):
        return web.get(connect_url(emulator_server), headers=bearer(token), timeout=30).status_code

    with ThreadPoolExecutor(max_workers=200) as pool:
        codes = list(pool.map(call, range(400)))
    assert codes == [200] * 400


def test_state_file_persists_across_restarts(tmp_path):
    state_file = tmp_path / "state.json"
    with EmulatorServer(state_file=state_file) as server:
        control = server.control
        control.reset(TEST_SEED)
        token = control.issue_tokens(TEST_CLIENT_ID, TEST_ADMIN_USER_ID)["access_token"]
        created = web.post(connect_url(server), json=config_body(), headers=bearer(token))
        assert created.status_code == 200
        time.sleep(1.0)  # debounced write
    assert json.loads(state_file.read_text())["connect"]
    with EmulatorServer(state_file=state_file) as server:
        listed = web.get(connect_url(server), headers=bearer(token)).json()
        assert listed["configurations"][0]["connectId"] == created.json()["connectId"]


def test_sigterm_stops_cleanly_and_demo_seed_loads(tmp_path):
    server = EmulatorServer(seed="docusign_emulator/seed_demo.json", latency_ms=5).start()
    try:
        assert any("Sign in with:" in line for line in server.output)
        assert web.get(f"{server.url}/_emulator/config").json()["latency_ms"] == 5
    finally:
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=10) == 0
        server.stop()


def test_tls_server_serves_https_with_its_ca(emulator_tls_server, emulator_tls):
    resp = web.get(
        f"{emulator_tls_server.url}/_emulator/config", verify=emulator_tls_server.ca_file
    )
    assert emulator_tls_server.url.startswith("https://")
    assert resp.status_code == 200
