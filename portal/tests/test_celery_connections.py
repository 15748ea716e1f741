"""What a worker does with its database connection after each task (portal/celery.py)."""

import pytest
from django.db import OperationalError, connection

from portal.celery import _database_connections_tidy
from testing.processes import postgres_connection_drop

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="terminates a PostgreSQL backend"
)


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="persistent connections (DB_CONN_MAX_AGE) are configured for PostgreSQL only",
)
@pytest.mark.django_db(transaction=True)
def test_a_healthy_connection_is_kept_without_a_health_check_before_the_next_task():
    connection.close()  # start from a fresh connection, whatever an earlier test left behind
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    kept = connection.connection
    _database_connections_tidy(task=None)
    assert connection.connection is kept
    assert connection.health_check_done  # the next task's first query goes straight out


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_connection_that_broke_under_a_task_is_closed_after_it_and_the_next_task_reconnects():
    pid = postgres_connection_drop()
    with pytest.raises(OperationalError), connection.cursor() as cursor:
        cursor.execute("SELECT 1")  # the task that meets the dropped connection fails
    _database_connections_tidy(task=None)
    assert connection.connection is None
    with connection.cursor() as cursor:  # the next task
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid
