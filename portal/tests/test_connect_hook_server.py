"""The Connect receiver as production serves it: portal/wsgi.py's application behind a real,
threaded WSGI server, concurrent deliveries included."""

import threading
import uuid
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import requests
from django.core.wsgi import get_wsgi_application
from django.db import connection

from events.models import ConnectEvent, PartnerHmacKey
from events.tests.helpers import HOOK_PATH, KEY_OLD, encode, message, sign
from tenants.tests.factories import TenantAccountFactory, TenantFactory

pytestmark = pytest.mark.django_db(transaction=True)


class _ThreadingWSGIServer(WSGIServer):
    """A request per thread, as gunicorn's threads serve them."""

    daemon_threads = True
    request_queue_size = 64  # socketserver's 5 would refuse a burst of concurrent deliveries

    def process_request(self, request, client_address):
        thread = threading.Thread(target=self._handle, args=(request, client_address), daemon=True)
        thread.start()

    def _handle(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        finally:
            self.shutdown_request(request)
            connection.close()  # this thread's own, as a server thread ends


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server_url(settings):
    """A fresh Django application (so settings overridden by a test apply, as they would at
    start-up), served on a free port."""
    settings.ALLOWED_HOSTS = ["127.0.0.1", "testserver"]
    application = get_wsgi_application()
    server = make_server(
        "127.0.0.1", 0, application, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def tenant(db):
    tenant = TenantAccountFactory(account_id=ACCOUNT).tenant
    PartnerHmacKey.objects.create(
        integration=tenant.integration, label="old", secret=KEY_OLD, created_by_label="t"
    )
    return tenant


ACCOUNT = "hook0000-aaaa-4bbb-8ccc-000000000001"


def _deliver(url, payload=None, *, key=KEY_OLD, **headers):
    body = encode(payload or message(account_id=ACCOUNT))
    return requests.post(
        url + HOOK_PATH,
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-DocuSign-AccountId": ACCOUNT,
            "X-DocuSign-Signature-1": sign(key, body),
            **headers,
        },
        timeout=30,
    )


def test_server_stores_a_signed_event_with_the_security_headers_and_a_request_id(
    server_url, tenant
):
    response = _deliver(server_url, **{"X-Request-ID": "support-ticket-4711"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "stored"
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Request-ID"] == "support-ticket-4711"
    assert "Set-Cookie" not in response.headers
    event = ConnectEvent.objects.get()
    assert (event.pk, event.tenant_id) == (response.json()["id"], tenant.pk)


def test_server_and_the_test_client_answer_with_the_same_headers(server_url, tenant, client):
    body = encode(message(account_id=ACCOUNT))
    bad_signature = {"X-DocuSign-AccountId": ACCOUNT, "X-DocuSign-Signature-1": "AAAA"}
    by_server = requests.post(server_url + HOOK_PATH, data=body, headers=bad_signature, timeout=30)
    by_view = client.post(
        HOOK_PATH,
        body,
        content_type="application/json",
        headers={"x-docusign-accountid": ACCOUNT, "x-docusign-signature-1": "AAAA"},
    )
    assert by_server.status_code == by_view.status_code == 401
    assert by_server.json() == by_view.json()
    transport = {"date", "server", "content-length", "x-request-id", "connection"}
    served = {k.lower(): v for k, v in by_server.headers.items() if k.lower() not in transport}
    view_headers = {k.lower(): v for k, v in by_view.items() if k.lower() not in transport}
    assert served == view_headers


def test_server_refuses_a_host_outside_allowed_hosts(server_url, tenant):
    response = _deliver(server_url, Host="evil.example")
    assert response.status_code == 400
    assert ConnectEvent.objects.count() == 0


def test_other_methods_answer_405_and_pages_are_still_served(server_url, tenant):
    response = requests.get(server_url + HOOK_PATH, timeout=30)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.json()["error"]
    login = requests.get(server_url + "/accounts/login/", timeout=30)
    assert login.status_code == 200
    assert "text/html" in login.headers["Content-Type"]


def test_plain_http_is_redirected_to_https_when_required(settings, tenant):
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    application = get_wsgi_application()
    server = make_server(
        "127.0.0.1", 0, application, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        body = encode(message(account_id=ACCOUNT))
        response = requests.post(url + HOOK_PATH, data=body, allow_redirects=False, timeout=30)
    finally:
        server.shutdown()
        server.server_close()
    assert response.status_code == 301
    assert response.headers["Location"] == f"https://127.0.0.1:{server.server_port}{HOOK_PATH}"
    assert ConnectEvent.objects.count() == 0


def test_concurrent_deliveries_are_each_stored_once(server_url, tenant):
    """Many events at once, one of them three times: each answer speaks for its own row, and the
    unique constraint keeps the repeated one to a single row."""
    assert _deliver(server_url).status_code == 200
    distinct = [message(account_id=ACCOUNT) for _ in range(12)]
    repeated = message(account_id=ACCOUNT)
    payloads = distinct + [repeated] * 3
    barrier = threading.Barrier(len(payloads))
    answers = {}

    def deliver(index, payload):
        barrier.wait(timeout=10)
        answers[index] = _deliver(server_url, payload)

    threads = [
        threading.Thread(target=deliver, args=(i, payload)) for i, payload in enumerate(payloads)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert [answers[i].status_code for i in range(len(payloads))] == [200] * len(payloads)
    distinct_ids = {answers[i].json()["id"] for i in range(len(distinct))}
    assert len(distinct_ids) == len(distinct)
    assert None not in distinct_ids
    repeated_statuses = sorted(answers[i].json()["status"] for i in range(12, 15))
    assert repeated_statuses == ["duplicate", "duplicate", "stored"]
    assert ConnectEvent.objects.count() == 1 + len(distinct) + 1
    stored = {e.envelope_id: e.pk for e in ConnectEvent.objects.filter(pk__in=distinct_ids)}
    for i, payload in enumerate(distinct):
        assert stored[payload["data"]["envelopeId"]] == answers[i].json()["id"]


def test_key_deactivated_between_deliveries_is_refused_at_once(server_url, tenant):
    assert _deliver(server_url).status_code == 200
    PartnerHmacKey.objects.update(deactivated_at="2030-01-01T00:00:00Z")
    assert _deliver(server_url).status_code == 401
    assert ConnectEvent.objects.count() == 1


def test_account_moved_between_deliveries_goes_to_its_new_tenant(server_url, tenant):
    assert _deliver(server_url).status_code == 200
    other = TenantFactory(integration=tenant.integration)
    account = tenant.account
    account.tenant = other
    account.save()
    response = _deliver(server_url)
    assert response.status_code == 200
    assert ConnectEvent.objects.get(pk=response.json()["id"]).tenant_id == other.pk


def test_database_down_answers_503_and_stores_nothing(server_url, tenant):
    assert _deliver(server_url).status_code == 200
    saved = dict(connection.settings_dict)
    # The settings every new connection is made from (the server's threads make their own).
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent-dir/portal.sqlite3"
    else:
        connection.settings_dict["PORT"] = "1"
    try:
        response = _deliver(server_url, message(account_id=ACCOUNT, envelope_id=str(uuid.uuid4())))
    finally:
        connection.settings_dict.update(saved)
        connection.close()
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.headers["X-Request-ID"]
    assert ConnectEvent.objects.count() == 1
