"""README's "Try the demo", literally, in Chromium: a fresh `bin/run` (its own SQLite database,
filesystem broker, emulator seed and state, on free ports; web, worker, beat and emulator as the
Procfile runs them), steps 1 to 5, up to the test event arriving. Any step that fails fails the
test; every wait has a deadline.

Screenshots (artifacts/screenshots/demo-*.png) are the README's dashboard, tenant page and webhook
authentication images.
"""

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from testing.browser import SCREENSHOTS, requires_chromium, screenshot
from testing.totp import totp_code

pytestmark = [*requires_chromium, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
START_DEADLINE_S = 120
STEP_TIMEOUT_MS = 20_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(predicate, *, deadline_s: float, what: str, log: Path | None = None):
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    tail = log.read_text()[-4000:] if log and log.exists() else ""
    pytest.fail(f"Timed out waiting for {what}.\n{tail}")


@pytest.fixture
def demo(tmp_path):
    """`bin/run` as a newcomer runs it, on free ports, in a fresh var directory."""
    web_port, emulator_port = _free_port(), _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER"}
    }
    env.update(
        WEB_BIND=f"127.0.0.1:{web_port}",
        WEB_WORKERS="1",
        WORKER_CONCURRENCY="2",
        EMULATOR_PORT=str(emulator_port),
        DATABASE_URL=f"sqlite:///{tmp_path / 'portal.sqlite3'}",
        FILESYSTEM_BROKER_DIR=str(tmp_path / "broker"),
        EMULATOR_SEED=str(tmp_path / "emulator-seed.json"),
        EMULATOR_STATE_FILE=str(tmp_path / "emulator-state.json"),
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"),
        PYTHONUNBUFFERED="1",
    )
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(REPO / "bin" / "run")],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as one below
        )
    url = f"http://127.0.0.1:{web_port}"
    try:
        password = _wait_for(
            lambda: (m := re.search(r"demo-owner / (\S+)", log.read_text())) and m.group(1),
            deadline_s=START_DEADLINE_S,
            what="bin/run to print the demo owner's password",
            log=log,
        )
        _wait_for(
            lambda: (
                "DocuSign emulator listening" in log.read_text()
                and "Listening at: " in log.read_text()
                and "ready." in log.read_text()
            ),
            deadline_s=START_DEADLINE_S,
            what="web, worker and emulator to start",
            log=log,
        )
        yield {"url": url, "password": password, "log": log}
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _reload_until(page, selector: str, *, what: str, deadline_s: float = 60):
    def found():
        page.reload()
        return page.query_selector(selector)

    return _wait_for(found, deadline_s=deadline_s, what=what)


def test_readme_demo_runs_to_the_test_event(demo, browser):
    staff = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    staff.set_default_timeout(STEP_TIMEOUT_MS)
    try:
        _demo_steps(demo, browser, staff)
    except BaseException:
        screenshot(staff, "demo-failure")
        raise


def _demo_steps(demo, browser, staff):
    url, log = demo["url"], demo["log"]

    # 1. Sign in with the printed demo-owner password; the first time, set up a second factor:
    # the authenticator app's code (computed from the secret shown), keep the recovery codes,
    # continue to the dashboard.
    staff.goto(f"{url}/")
    staff.get_by_label("Username").fill("demo-owner")
    staff.get_by_label("Password").fill(demo["password"])
    staff.get_by_role("button", name="Sign in", exact=True).click()
    staff.wait_for_selector("#authenticator_secret")
    secret = staff.input_value("#authenticator_secret")
    staff.fill("input[name=code]", totp_code(secret))
    staff.get_by_role("button", name="Activate").click()
    staff.get_by_role("link", name=re.compile("Continue to the dashboard")).click()
    staff.wait_for_selector("h1:has-text('Fleet health')")

    # 2. Tenants → Register a tenant: any name, Nora's email, the Local emulator integration, ACG.
    staff.click("nav >> text=Tenants")
    staff.click("text=Register a tenant")
    staff.fill("input[name=name]", "Northwind Traders")
    staff.fill("input[name=admin_email]", "nora.admin@northwind.example")
    staff.select_option("select[name=integration]", label="Local emulator")
    staff.select_option("select[name=grant_mode]", value="acg")
    staff.click("button:has-text('Register tenant')")
    staff.wait_for_selector("h1:has-text('Northwind Traders')")
    tenant_url = staff.url

    # 3. Send invite, copy the link.
    staff.click("button:has-text('Send invite')")
    link = staff.input_value("input[data-invite-link]")
    assert link.startswith(f"{url}/consent/")
    # The web access log never shows the invite token (only masked).
    token = link.rstrip("/").rsplit("/", 1)[1]

    # 4. The client admin: Continue to DocuSign, sign in as Nora, allow, pick an account.
    admin = browser.new_context().new_page()
    admin.set_default_timeout(STEP_TIMEOUT_MS)
    admin.goto(link)
    admin.click("button:has-text('Continue to DocuSign')")
    admin.fill("input[name=email]", "nora.admin@northwind.example")
    admin.fill("input[name=password]", "nora-pass")
    admin.click("button:has-text('Sign in')")
    admin.click("button[name=decision][value=allow]")
    admin.check("input[name=account_id] >> nth=0")
    admin.click("button[type=submit]")
    admin.wait_for_url(re.compile(r".*/consent/done/.*"))

    # 5. Consented; a Connect template, pushed; the tenant in sync; a test event that arrives.
    staff.goto(tenant_url)
    assert staff.query_selector("h1 .badge:has-text('Consented')"), staff.inner_text("h1")
    staff.click("nav >> text=Connect templates")
    staff.click("text=New template")
    staff.fill("input[name=name]", "Envelope events")
    staff.fill("input[name=slug]", "envelopes")
    staff.select_option("select[name=integration]", label="Local emulator")
    staff.click("button:has-text('Save')")
    staff.click("button:has-text('Push to its tenants now')")
    staff.goto(tenant_url)
    _reload_until(
        staff,
        ".panel-connect_tenant_panel h2 .badge:has-text('In sync')",
        what="the tenant's Connect configuration to be in sync",
    )
    staff.click("button:has-text('Send test event')")
    arrived = staff.wait_for_selector("text=/Test event .* arrived/")
    assert arrived is not None
    assert not staff.query_selector("[data-test-refused]")
    assert "none yet" not in staff.inner_text(".panel-events_tenant_panel h2")
    # Beside "arrived", the figures either count it or say they do not yet; the panel polls until
    # the worker has counted it.
    staff.wait_for_selector("[data-test-uncounted]", state="detached")
    assert "1 event (1 in all, test events included)" in staff.inner_text(
        ".panel-events_tenant_panel"
    )
    screenshot(staff, "demo-tenant")

    staff.goto(f"{url}/")
    staff.wait_for_selector("h1:has-text('Fleet health')")
    screenshot(staff, "demo-dashboard")

    # The integration's webhook authentication: its check passes too.
    staff.click("nav >> text=Integrations")
    staff.click("text=Webhook authentication")
    staff.click("[data-action=webhook-check]")
    result = staff.wait_for_selector("[data-check-result]")
    assert "Check passed" in result.inner_text(), result.inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    staff.locator("#webhook-auth").screenshot(
        path=str(SCREENSHOTS / "demo-webhook-authentication.png")
    )

    # gunicorn's access lines (the development email printed in the same log carries the link
    # on purpose: README step 3 copies it from there).
    access = [line for line in log.read_text().splitlines() if ' HTTP/1.1" ' in line]
    assert any("/consent/[masked]/" in line for line in access)
    assert not [line for line in access if token in line]
    assert not [line for line in access if "favicon" in line and '" 404 ' in line]
