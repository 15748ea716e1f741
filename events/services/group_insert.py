"""Group commit for the Connect receiver: the HMAC-verified events that arrive together in one web
process are stored by ONE statement, and each request still answers only after its own row is
committed.

Why: DocuSign delivers in bursts, and on one machine the cost of a delivery was dominated by its
round trips to PostgreSQL (every statement wakes a backend, plans, commits and flushes the WAL),
not by the work itself. So the requests of one process combine ("flat combining"): a request
queues its row; if no batch is being written, it becomes the leader and writes every queued row
with one INSERT (autocommit: the statement is the commit); the rows queued meanwhile are written
by the next leader, chosen from the waiting requests, as soon as that statement returns. A lone
request writes alone at once; under load the batch grows to whatever arrived during the previous
write, and the leader pauses a millisecond first to let a few more join.

Each row is inserted only if the route it was verified against still holds at that instant: the
account still belongs to that tenant and the HMAC key that verified it is still active (the
receiver checked the signature against a remembered copy of the route; this is what keeps a
deactivated key refused at once). A row not inserted is a duplicate of a stored event or was
verified against an outdated route; the receiver tells the two apart by reading the route afresh.

The statements go through one database connection per process, whichever request leads: with a
connection per web thread, each PostgreSQL backend ran the INSERT only now and then, cold, and
spent about twice the CPU on it (measured: 16 connections taking turns vs one). A row asked for
inside a transaction (a caller's atomic block, or a test's) is not batched: it is written on the
caller's own connection, as part of that transaction.
"""

import json
import os
import threading
import time
from contextlib import nullcontext
from datetime import datetime
from functools import cache

import psycopg
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    InterfaceError,
    OperationalError,
    connection,
    connections,
    transaction,
)
from django.db.backends.base.base import BaseDatabaseWrapper

from events.models import ConnectEvent, PartnerHmacKey
from tenants.models import Tenant, TenantAccount

# A bound on one statement's size; far above what arrives in one write's time in practice.
MAX_ROWS_PER_STATEMENT = 200
# Under load, how long a leader lets more deliveries arrive before writing (see _lead).
GATHER_S = 0.001


class _Waiter:
    """A queued row, and how its request learns what became of it."""

    __slots__ = ("_done", "error", "event_id", "lead", "row")

    def __init__(self, row: dict):
        self.row = row  # the event's column values by attribute name, plus "key_id"
        self.lead = False
        self.event_id: int | None = None
        self.error: Exception | None = None
        # A held lock is the cheapest one-shot signal: wait() blocks acquiring it until signal()
        # releases it (a threading.Event is a Condition written in Python, several times the
        # cost, paid for every event).
        self._done = threading.Lock()
        self._done.acquire()

    def wait(self) -> None:
        self._done.acquire()

    def signal(self) -> None:
        self._done.release()


_lock = threading.Lock()
_queue: list[_Waiter] = []
_writing = False  # a leader is writing; only ever False while the queue is empty
_last_batch_rows = 0  # rows of this process's last statement
# This process's writing connection: used by one leader at a time, so never concurrently.
_writer: BaseDatabaseWrapper | None = None
_writer_pid: int | None = None


def event_insert_if_still_routed(row: dict) -> int | None:
    """Insert one verified event if its route still holds; its id, or None when nothing was
    inserted (a duplicate, or the route changed). Returns once the row is committed. Raises
    DatabaseError when the database cannot store it (the caller answers 503)."""
    global _writing
    own = connections[DEFAULT_DB_ALIAS]
    if own.in_atomic_block:
        # The row belongs to the caller's transaction (a caller's atomic block, or a test's):
        # written alone on the caller's own connection, committed with that transaction.
        with savepoint_if_in_transaction(own):
            return _insert(own, [row])[0]
    waiter = _Waiter(row=row)
    with _lock:
        _queue.append(waiter)
        lead = not _writing
        _writing = True
    if not lead:
        waiter.wait()
    if lead or waiter.lead:
        _lead(waiter)
    if isinstance(waiter.error, DatabaseError):
        # Raised afresh in this thread, of the same class (a DataError stays a DataError).
        raise type(waiter.error)("The Connect event could not be stored.") from waiter.error
    if waiter.error is not None:
        raise RuntimeError("The Connect event could not be stored.") from waiter.error
    return waiter.event_id


def _lead(own: _Waiter) -> None:
    """Write what is queued (`own`, this request's row, first among them), then pass the lead
    on. Every other waiter of the batch is signalled once, and so is a successor."""
    global _writing, _last_batch_rows
    if _last_batch_rows > 1:
        # Under load (the last statement carried several rows), a short pause before taking
        # the queue lets the deliveries arriving meanwhile join this statement instead of each
        # costing one of their own (measured: about 5% less CPU per event at 16 concurrent
        # deliveries, for at most a millisecond more per answer). A lone delivery is written
        # at once.
        time.sleep(GATHER_S)
    with _lock:
        batch = _queue[:MAX_ROWS_PER_STATEMENT]
        del _queue[:MAX_ROWS_PER_STATEMENT]
    _last_batch_rows = len(batch)
    try:
        _write(batch)
    finally:
        with _lock:
            if _queue:
                successor = _queue[0]
                successor.lead = True
                successor.signal()
            else:
                _writing = False
        for waiter in batch:
            if waiter is not own:
                waiter.signal()


def _write(batch: list[_Waiter]) -> None:
    """Set every waiter's event_id or error; never raises."""
    try:
        event_ids = _insert(_writer_get(), [waiter.row for waiter in batch])
    except Exception as exc:  # handed to the request it belongs to, which raises it
        if len(batch) == 1:
            batch[0].error = exc
            return
        # One bad row must not cost the others their delivery: write them one by one.
        for waiter in batch:
            _write([waiter])
        return
    for waiter, event_id in zip(batch, event_ids, strict=True):
        waiter.event_id = event_id


def _insert(db: BaseDatabaseWrapper, rows: list[dict]) -> list[int | None]:
    """One INSERT for all rows; the id of each inserted row, None for the others, in order."""
    # No health check first (a `SELECT 1` round trip): the insert itself finds a dead
    # connection, and is then retried once on a new one. Retrying is safe: if the first attempt
    # did commit, the retry conflicts and the receiver reports a duplicate.
    try:
        returned = _execute(db, rows)
    except (OperationalError, InterfaceError):
        if db.in_atomic_block:
            raise
        db.close()
        returned = _execute(db, rows)
    finally:
        if db is _writer:
            # CONN_MAX_AGE and a connection that broke, as Django treats its own after a request.
            db.close_if_unusable_or_obsolete()
    ids_by_identity: dict[tuple, list[int]] = {}
    for event_id, *identity in returned:
        ids_by_identity.setdefault(tuple(identity), []).append(event_id)
    event_ids = []
    for row in rows:
        # Two identical rows in one statement: the first gets the id, the second is the duplicate.
        ids = ids_by_identity.get(tuple(row[name] for name in identity_fields()))
        event_ids.append(ids.pop(0) if ids else None)
    return event_ids


def _execute(db: BaseDatabaseWrapper, rows: list[dict]) -> list[tuple]:
    # A prepared statement (server-side binding, on psycopg's own cursor: Django's cursors bind
    # on the client), so PostgreSQL parses and plans it once per connection instead of once per
    # batch: planning was half of PostgreSQL's CPU per event (measured). Django opens psycopg
    # connections with prepared statements off (prepare_threshold None), and then
    # `prepare=True` is silently ignored; so they are turned on for the writer's connection
    # only, each new one (after a reconnect too), at psycopg's own default threshold. Django's
    # error wrapper still applies. (Behind PgBouncer in transaction mode, prepared statements
    # need its max_prepared_statements.)
    db.ensure_connection()
    if db is _writer and db.connection.prepare_threshold is None:
        db.connection.prepare_threshold = 5
    with db.wrap_database_errors:
        cursor = psycopg.Cursor(db.connection)
        cursor.execute(_insert_sql(), [json.dumps(rows)], prepare=True)
        return cursor.fetchall()


def savepoint_if_in_transaction(db: BaseDatabaseWrapper):
    """A savepoint when inside a caller's transaction, so that a refused row (a DataError) does
    not abort that transaction; nothing in autocommit, where the statement is its own."""
    return transaction.atomic(using=db.alias) if db.in_atomic_block else nullcontext()


def _writer_get() -> BaseDatabaseWrapper:
    """This process's writing connection, made on first use (so after the web server forks),
    with the settings of the default database."""
    global _writer, _writer_pid
    if _writer is None or _writer_pid != os.getpid():
        writer = connections.create_connection(DEFAULT_DB_ALIAS)
        # Used by whichever request thread leads, one at a time.
        writer.inc_thread_sharing()
        _writer, _writer_pid = writer, os.getpid()
    return _writer


def writer_close() -> None:
    """Close this process's writing connection (it reopens on next use): for a test that makes
    the database unreachable, and before a test database is dropped."""
    if _writer is not None and _writer_pid == os.getpid():
        _writer.close()


@cache
def insert_fields() -> tuple:
    """The columns an INSERT of a ConnectEvent sets (all but the id), in the model's order."""
    return tuple(f for f in ConnectEvent._meta.concrete_fields if not f.primary_key)


@cache
def identity_fields() -> tuple[str, ...]:
    """The fields of the unique constraint `connect_event_once`, which identify an event: how a
    returned row is matched to the request that queued it."""
    (constraint,) = (c for c in ConnectEvent._meta.constraints if c.name == "connect_event_once")
    return tuple(constraint.fields)


@cache
def _insert_sql() -> str:
    """INSERT ... SELECT FROM jsonb_to_recordset(one JSON array of rows) WHERE the route holds
    ON CONFLICT DO NOTHING RETURNING the id and identity of each inserted row."""
    q = connection.ops.quote_name
    event = ConnectEvent._meta
    account, tenant, key = TenantAccount._meta, Tenant._meta, PartnerHmacKey._meta

    def col(meta, name):
        return q(meta.get_field(name).column)

    fields = insert_fields()
    columns = ", ".join(q(f.column) for f in fields)
    # The record's column types are the table's own, so PostgreSQL converts each JSON value
    # exactly as it would convert an INSERT parameter.
    definitions = ", ".join(f"{q(f.attname)} {f.db_type(connection)}" for f in fields)
    selected = ", ".join(f"v.{q(f.attname)}" for f in fields)
    identity = ", ".join(col(event, name) for name in identity_fields())
    # Identifiers come from model metadata, quoted; the rows are one parameter.
    return (
        f"INSERT INTO {q(event.db_table)} ({columns}) "  # noqa: S608
        f"SELECT {selected} FROM jsonb_to_recordset(%s::jsonb) "
        f"AS v({definitions}, {q('key_id')} bigint) "
        f"WHERE EXISTS (SELECT 1 FROM {q(account.db_table)} ta "
        f"JOIN {q(tenant.db_table)} t ON t.{q(tenant.pk.column)} = ta.{col(account, 'tenant')} "
        f"JOIN {q(key.db_table)} k ON k.{col(key, 'integration')} = "
        f"t.{col(tenant, 'integration')} "
        f"WHERE ta.{col(account, 'account_id')} = v.{q('account_id')} "
        f"AND ta.{col(account, 'tenant')} = v.{q('tenant_id')} "
        f"AND k.{q(key.pk.column)} = v.{q('key_id')} AND k.{col(key, 'deactivated_at')} IS NULL) "
        f"ON CONFLICT DO NOTHING RETURNING {q(event.pk.column)}, {identity}"
    )


def event_row(values: dict, *, key_id: int) -> dict:
    """The row `event_insert_if_still_routed` takes: every column's value (model defaults for
    those not given) by attribute name, and the id of the key that verified the event. JSON
    values: timestamps as ISO 8601, which PostgreSQL reads with their offset."""
    row = {}
    for f in insert_fields():
        value = values[f.attname] if f.attname in values else f.get_default()
        row[f.attname] = value.isoformat() if isinstance(value, datetime) else value
    row["key_id"] = key_id
    return row
