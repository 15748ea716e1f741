"""Refresh exactly once across threads and processes, and survive a worker killed mid-refresh.

These tests commit their data (transaction=True) so that other processes, started with the same
settings and DATABASE_URL pointing at the test database, see it. They pass on PostgreSQL (real row
locks) and on SQLite (the settings open transactions as BEGIN IMMEDIATE, which serialises them).
"""

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from tenants.docusign import docusign_client_for
from tenants.models import Tenant, TenantToken
from tenants.services.tokens import (
    TokenReconsentRequired,
    TokenTemporarilyUnavailable,
    token_get_valid,
)
from testing.processes import child_env
from testing.wait import wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
REFRESH = "POST /oauth/token refresh_token"

# Run in another interpreter: N threads each ask for the tenant's token at `start_at` (a wall
# clock instant shared with the test, so every caller in every process races at once). Prints
# SHA-256 digests, never the tokens.
CALLERS = """
import hashlib, json, sys, threading, time
import django
django.setup()
from django.db import connection
from tenants.services.tokens import token_get_valid

tenant_id, count, start_at = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
digests, errors = [], []

def call():
    try:
        while time.time() < start_at:
            time.sleep(0.001)
        token = token_get_valid(tenant_id=tenant_id)
        digests.append(hashlib.sha256(token.token.encode()).hexdigest())
    except Exception as exc:
        errors.append(repr(exc))
    finally:
        connection.close()

threads = [threading.Thread(target=call) for _ in range(count)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps({"digests": digests, "errors": errors}))
"""


def python(code: str, *args) -> subprocess.Popen:
    # The children only call the token service, in-process tasks as in the test itself.
    env = child_env(PYTHONPATH=str(REPO_ROOT), CELERY_TASK_ALWAYS_EAGER="true")
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def expire_in_portal(tenant) -> None:
    TenantToken.objects.filter(tenant=tenant).update(
        access_expires_at=timezone.now() - timedelta(minutes=1)
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_fifty_callers_in_three_processes_cause_exactly_one_refresh(consented_tenant, emulator):
    tenant = consented_tenant()
    expire_in_portal(tenant)
    emulator.expire_tokens(access_token=tenant.token.access_token)
    # Strict rotation: a second refresh with the same refresh token would be treated as theft and
    # kill the grant, so any race shows up as a failure. The latency keeps the first refresh in
    # flight while every other caller arrives.
    emulator.config(refresh_rotation="strict", latency_ms=300)
    emulator.reset_calls()
    start_at = time.time() + 6  # time for the other interpreters to start Django

    workers = [python(CALLERS, tenant.pk, 15, start_at) for _ in range(2)]
    digests, errors = [], []

    def call():
        try:
            while time.time() < start_at:
                time.sleep(0.001)
            digests.append(digest(token_get_valid(tenant_id=tenant.pk).token))
        except Exception as exc:
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for worker in workers:
        out, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
        result = json.loads(out.strip().splitlines()[-1])
        digests += result["digests"]
        errors += result["errors"]

    emulator.config(latency_ms=0)
    row = TenantToken.objects.get(tenant=tenant)
    assert errors == []
    assert len(digests) == 50
    assert set(digests) == {digest(row.access_token)}
    assert emulator.calls().get(REFRESH, 0) == 1
    assert row.generation == 1
    assert docusign_client_for(tenant.integration).oauth.userinfo(row.access_token).sub


# A process that takes the lock and then waits on DocuSign for a refresh.
ONE_REFRESH = """
import sys
import django
django.setup()
from tenants.services.tokens import token_get_valid
token_get_valid(tenant_id=int(sys.argv[1]))
print("refreshed")
"""


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_refresh_leaves_the_tenant_usable_and_the_lock_free(
    consented_tenant, emulator
):
    tenant = consented_tenant()
    expire_in_portal(tenant)
    before = TenantToken.objects.get(tenant=tenant)
    # Lenient rotation (the emulator's default), on purpose: the killed worker's refresh reaches
    # DocuSign, which rotates the refresh token, but the answer dies with the process. Under
    # strict rotation that old refresh token is then dead and no client can recover the tenant
    # (only a re-consent can): the new token existed only in the killed process's memory. What
    # the portal controls, and what this test proves, is that nothing stays locked or half
    # written and the next refresh goes through.
    _refresh_killed_in_flight(tenant, emulator)

    lock_free_after = _seconds_until_lock_is_free(tenant.pk)
    assert lock_free_after < 5
    # The emulator finishes the orphaned refresh: the refresh token is rotated.
    wait_until(
        lambda: _rotated(emulator, before.refresh_token),
        timeout=15,
        what="the emulator to rotate the killed worker's refresh token",
    )
    emulator.config(latency_ms=0)

    token = token_get_valid(tenant_id=tenant.pk)

    row = TenantToken.objects.get(tenant=tenant)
    assert emulator.calls().get(REFRESH, 0) == 2
    assert row.generation == before.generation + 1  # the killed worker wrote nothing
    assert token.token == row.access_token != before.access_token
    assert row.refresh_token != before.refresh_token
    assert docusign_client_for(tenant.integration).oauth.userinfo(token.token).sub


def _refresh_killed_in_flight(tenant, emulator) -> None:
    """A worker process refreshes the tenant against a slow DocuSign and is killed with SIGKILL
    while its call is in flight (it holds the row lock and waits for the answer)."""
    emulator.config(latency_ms=2000)
    emulator.reset_calls()
    worker = python(ONE_REFRESH, tenant.pk)

    def reached_docusign() -> bool:
        assert worker.poll() is None, worker.communicate()
        return emulator.calls().get(REFRESH, 0) >= 1

    wait_until(reached_docusign, timeout=30, what="the worker's refresh call", interval=0.02)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    assert worker.returncode == -signal.SIGKILL


def _rotated(emulator, refresh_token: str) -> bool:
    return any(t["token"] == refresh_token and t["used"] for t in emulator.state()["tokens"])


def _seconds_until_lock_is_free(tenant_id: int) -> float:
    """Take the token row lock without waiting, retrying until the database has noticed the dead
    connection (PostgreSQL aborts its transaction; SQLite's file lock died with the process)."""
    started = time.monotonic()

    def lock_taken() -> bool:
        try:
            with transaction.atomic():
                TenantToken.objects.select_for_update(nowait=True).get(tenant_id=tenant_id)
        except DatabaseError:
            return False
        return True

    wait_until(lock_taken, timeout=10, what="the dead worker's row lock to be released")
    return time.monotonic() - started


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_refresh_killed_after_docusign_rotated_under_strict_rotation_says_so(
    consented_tenant, emulator, staff_client
):
    """Strict rotation: the killed worker's call reaches DocuSign, which rotates the refresh token
    and answers a process that no longer exists. The next refresh sends the old token and gets
    invalid_grant: the tenant needs re-consent, and staff read why (not the generic refusal)."""
    tenant = consented_tenant()
    expire_in_portal(tenant)
    before = TenantToken.objects.get(tenant=tenant)
    emulator.config(refresh_rotation="strict")

    _refresh_killed_in_flight(tenant, emulator)

    wait_until(
        lambda: _rotated(emulator, before.refresh_token),
        timeout=15,
        what="the emulator to rotate the killed worker's refresh token",
    )
    emulator.config(latency_ms=0)

    with pytest.raises(TokenReconsentRequired) as refused:
        token_get_valid(tenant_id=tenant.pk)

    reason = (
        "A token refresh was interrupted after DocuSign rotated the refresh token; the client "
        "admin must consent again."
    )
    assert str(refused.value) == reason
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.NEEDS_RECONSENT
    assert tenant.status_changes.first().reason == reason
    assert emulator.calls().get(REFRESH, 0) == 2
    page = staff_client(Role.SUPPORT).get(reverse("tenant-detail", args=[tenant.pk]))
    assert reason in page.text


@pytest.mark.django_db
def test_a_refresh_answered_with_an_error_is_not_taken_for_an_interrupted_one(
    consented_tenant, emulator
):
    """Strict rotation, no crash: a 503 is an answer (nothing was rotated), so the invalid_grant
    that follows a revocation gets the generic reason."""
    tenant = consented_tenant()
    expire_in_portal(tenant)
    emulator.config(refresh_rotation="strict")
    emulator.fault("POST /oauth/token", status=503, count=1)
    with pytest.raises(TokenTemporarilyUnavailable):
        token_get_valid(tenant_id=tenant.pk)
    emulator.revoke_tokens(refresh_token=tenant.token.refresh_token)

    with pytest.raises(TokenReconsentRequired):
        token_get_valid(tenant_id=tenant.pk)

    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.NEEDS_RECONSENT
    assert tenant.status_changes.first().reason == (
        "DocuSign refused the token refresh (invalid_refresh_token); the client admin must "
        "consent again."
    )
