"""Mutual TLS in front of the receiver (README, Connect: mutual TLS): gunicorn's own TLS options
require a client certificate, so a delivery without DocuSign's certificate is refused at the
handshake and one with it (the emulator's, from its CA) is stored."""

import socket
import subprocess
import sys

import pytest
import requests

from docusign_emulator.testing import (
    TEST_ACCOUNT_1_ID,
    TEST_PARTNER_ACCOUNT_ID,
    TEST_SEED,
    EmulatorServer,
)
from docusign_emulator.tls import client_certificate, ensure_certificates
from events.models import ConnectEvent, PartnerHmacKey
from events.tests.helpers import HOOK_PATH, KEY_OLD
from tenants.tests.factories import TenantAccountFactory
from testing.processes import REPO, child_env
from testing.wait import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def tls_dir(tmp_path) -> str:
    ensure_certificates(str(tmp_path))
    return str(tmp_path)


@pytest.fixture
def gunicorn_mtls(tls_dir):
    """The portal under gunicorn, terminating TLS itself and requiring a client certificate
    signed by the CA in `--ca-certs` (here the emulator's, standing in for DocuSign's)."""
    port = _free_port()
    command = [
        sys.executable, "-m", "gunicorn", "portal.wsgi",
        "--bind", f"127.0.0.1:{port}", "--workers", "1",
        "--certfile", f"{tls_dir}/server.pem", "--keyfile", f"{tls_dir}/server-key.pem",
        "--ca-certs", f"{tls_dir}/ca.pem", "--cert-reqs", "2",
    ]  # fmt: skip
    env = child_env(CELERY_TASK_ALWAYS_EAGER="true")
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"https://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            response = requests.get(
                f"{url}/healthz",
                verify=f"{tls_dir}/ca.pem",
                cert=client_certificate(tls_dir),
                timeout=2,
            )
        except requests.RequestException:
            return False
        return response.status_code == 200

    try:
        wait_until(ready, timeout=30, what="gunicorn to answer over TLS")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def publisher(tls_dir):
    args = ["--tls-dir", tls_dir, "--connect-ca-file", f"{tls_dir}/ca.pem"]
    with EmulatorServer(extra_args=args) as server:
        server.control.reset(seed=TEST_SEED)
        server.control.set_partner_hmac_keys(TEST_PARTNER_ACCOUNT_ID, [KEY_OLD])
        yield server.control


@pytest.fixture
def tenant(emulator_integration):
    account = TenantAccountFactory(
        tenant__integration=emulator_integration, account_id=TEST_ACCOUNT_1_ID
    )
    PartnerHmacKey.objects.create(
        integration=emulator_integration, label="current", secret=KEY_OLD, created_by_label="t"
    )
    return account.tenant


def _config(publisher, url: str, **fields) -> None:
    publisher.drift_create(
        TEST_ACCOUNT_1_ID,
        {
            "name": "PartnerPortal: mtls",
            "configurationType": "custom",
            "urlToPublishTo": url + HOOK_PATH,
            "allowEnvelopePublish": "true",
            "deliveryMode": "SIM",
            "eventData": {"version": "restv2.1"},
            "events": ["envelope-completed"],
            "integratorManaged": "true",
            "includeHMAC": "true",
            **fields,
        },
    )


def test_a_delivery_with_the_client_certificate_is_stored_one_without_is_refused(
    gunicorn_mtls, publisher, tenant, tls_dir
):
    # Without a client certificate the TLS server refuses the connection itself.
    with pytest.raises(requests.RequestException):
        requests.post(gunicorn_mtls + HOOK_PATH, data=b"{}", verify=f"{tls_dir}/ca.pem", timeout=5)
    _config(publisher, gunicorn_mtls)  # requireMutualTls off: no certificate presented
    [refused] = publisher.publish_event(TEST_ACCOUNT_1_ID, "envelope-completed")
    assert refused["status"] == "failed"
    assert not ConnectEvent.objects.exists()

    _config(publisher, gunicorn_mtls, name="PartnerPortal: mtls on", requireMutualTls="true")
    results = publisher.publish_event(TEST_ACCOUNT_1_ID, "envelope-completed")

    by_name = {r["connectId"]: r["status"] for r in results}
    assert sorted(by_name.values()) == ["delivered", "failed"], results
    event = ConnectEvent.objects.get()
    assert event.tenant_id == tenant.pk
    assert event.auth_method == ConnectEvent.AuthMethod.HMAC
