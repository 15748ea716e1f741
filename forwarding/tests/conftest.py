import pytest

from events.models import ConnectEvent
from events.services.health import connect_event_process
from events.tests.helpers import message
from forwarding.services.destinations import destination_create
from forwarding.tests.sink import Sink
from tenants.tests.factories import TenantAccountFactory


@pytest.fixture(autouse=True)
def _sink_host_allowed(settings):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]


@pytest.fixture
def sink():
    sink = Sink()
    yield sink
    sink.close()


@pytest.fixture
def tenant(db):
    return TenantAccountFactory().tenant


@pytest.fixture
def destination_with_secret(tenant, sink):
    destination, secret = destination_create(
        integration=tenant.integration,
        name="Partner app",
        url=sink.url,
        event_types=[],
        tenant_ids=[],
        actor=None,
    )
    return destination, secret


@pytest.fixture
def stored_event(tenant):
    """`stored_event(**message fields)`: a Connect event as the receiver stores it, then processed
    (counted and fanned out to the destinations, not sent), as its Celery task does after the
    commit; `processed=False` leaves that to the test."""

    def store(processed: bool = True, **fields) -> ConnectEvent:
        payload = message(account_id=tenant.account.account_id, **fields)
        event = ConnectEvent.objects.create(
            tenant=tenant,
            account_id=tenant.account.account_id,
            configuration_id=str(payload["configurationId"]),
            event=payload["event"],
            envelope_id=payload["data"]["envelopeId"],
            generated_date_time=payload["generatedDateTime"],
            payload=payload,
            auth_method="hmac",
        )
        if processed:
            connect_event_process(event_id=event.pk)
        return event

    return store
