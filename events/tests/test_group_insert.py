"""The receiver's group commit on its own: one statement for many rows, each row's fate its own."""

import threading
import uuid

import pytest
from django.db import DataError, connection
from django.utils import timezone

from events.models import ConnectEvent, PartnerHmacKey
from events.services import group_insert
from events.services.group_insert import event_insert_if_still_routed, event_row
from events.tests.helpers import message

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # The group commit serves the PostgreSQL path only (on SQLite every event takes the plain
    # INSERT of the fresh path).
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's INSERT"),
]


@pytest.fixture
def key(linked_tenant):
    return PartnerHmacKey.objects.get(integration=linked_tenant.integration)


def _row(tenant, key, **payload_fields):
    payload = message(**payload_fields)
    values = {
        "tenant_id": tenant.pk,
        "account_id": payload["data"]["accountId"],
        "configuration_id": str(payload["configurationId"]),
        "event": payload["event"],
        "envelope_id": payload["data"]["envelopeId"],
        "recipient_id": "",
        "generated_date_time": payload["generatedDateTime"],
        "payload": payload,
        "body_bytes": 100,
        "auth_method": ConnectEvent.AuthMethod.HMAC,
        "received_at": timezone.now(),
    }
    return event_row(values, key_id=key.pk)


def _waiter(row):
    return group_insert._Waiter(row)


def test_one_statement_stores_many_rows_and_each_gets_its_own_id(linked_tenant, key):
    rows = [_row(linked_tenant, key) for _ in range(5)]
    ids = group_insert._insert(group_insert._writer_get(), rows)
    stored = dict(ConnectEvent.objects.values_list("envelope_id", "pk"))
    assert ids == [stored[row["envelope_id"]] for row in rows]


def _prepared_inserts(writer) -> list[tuple[int, int]]:
    with writer.connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE 'INSERT INTO \"events_connectevent\"%%'"
        )
        return cursor.fetchall()


def test_the_insert_is_parsed_once_per_connection_and_then_only_executed(linked_tenant, key):
    # Django turns psycopg's prepared statements off; without the writer's own setting the
    # INSERT was parsed and planned again for every batch, and nothing said so.
    writer = group_insert._writer_get()
    for _ in range(8):
        group_insert._insert(writer, [_row(linked_tenant, key)])
    ((generic, custom),) = _prepared_inserts(writer)
    assert generic + custom == 8  # one statement, executed 8 times
    assert generic > 0  # PostgreSQL settled on one plan instead of planning each execution

    writer.close()  # a new connection (as after a broken one) prepares it again
    group_insert._insert(writer, [_row(linked_tenant, key)])
    assert _prepared_inserts(writer) == [(0, 1)]


def test_the_same_event_twice_in_one_statement_is_stored_once(linked_tenant, key):
    row = _row(linked_tenant, key)
    ids = group_insert._insert(group_insert._writer_get(), [row, dict(row)])
    assert ids[0] == ConnectEvent.objects.get().pk
    assert ids[1] is None


def test_a_row_the_database_refuses_does_not_cost_the_others_their_delivery(linked_tenant, key):
    good = _row(linked_tenant, key)
    bad = _row(linked_tenant, key, note="\ud800")  # jsonb refuses an unpaired surrogate
    waiters = [_waiter(good), _waiter(bad)]
    group_insert._write(waiters)
    assert waiters[0].event_id == ConnectEvent.objects.get().pk
    assert waiters[0].error is None
    assert isinstance(waiters[1].error, DataError)
    assert waiters[1].event_id is None


def test_a_row_verified_by_a_deactivated_key_is_not_inserted(linked_tenant, key):
    PartnerHmacKey.objects.filter(pk=key.pk).update(deactivated_at=timezone.now())
    assert event_insert_if_still_routed(_row(linked_tenant, key)) is None
    assert ConnectEvent.objects.count() == 0


def test_a_row_for_an_account_now_of_another_tenant_is_not_inserted(linked_tenant, key):
    row = _row(linked_tenant, key)
    linked_tenant.account.delete()
    assert event_insert_if_still_routed(row) is None
    assert ConnectEvent.objects.count() == 0


def test_rows_from_many_threads_each_learn_their_own_id(linked_tenant, key):
    rows = [_row(linked_tenant, key, envelope_id=str(uuid.uuid4())) for _ in range(20)]
    results = {}
    barrier = threading.Barrier(len(rows))

    def insert(index):
        barrier.wait(timeout=10)
        try:
            results[index] = event_insert_if_still_routed(rows[index])
        finally:
            connection.close()  # this thread's own

    threads = [threading.Thread(target=insert, args=(i,)) for i in range(len(rows))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    stored = dict(ConnectEvent.objects.values_list("envelope_id", "pk"))
    assert len(stored) == len(rows)
    assert [results[i] for i in range(len(rows))] == [stored[r["envelope_id"]] for r in rows]
