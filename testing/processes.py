"""Helpers for tests that involve real processes: children (Celery workers, plain Python) run
against the test database, so they get its DATABASE_URL to see the rows the test wrote; and the
database server can drop the test's own connection, as a restart would."""

import os
import subprocess
import sys
from pathlib import Path

from django.db import connection

REPO = Path(__file__).resolve().parents[1]


def test_database_url() -> str:
    """The test database (not the one in the environment) as a DATABASE_URL for a child."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = (db.get("USER") or "postgres") + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    host = f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    return f"postgres://{auth}@{host}/{db['NAME']}"


def child_env(**overrides: str) -> dict[str, str]:
    """The environment of a child process working on the test database, with real (not eager)
    Celery publishing."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": test_database_url(),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "PYTHONUNBUFFERED": "1",
        **overrides,
    }


def celery_worker_command(*, queues: str, concurrency: int, options: tuple[str, ...] = ()) -> list:
    """The Procfile's worker command (threads pool) under this interpreter, with `options`: what
    a test's worker and the benches' standard workers both run."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "portal",
        "worker",
        "--queues",
        queues,
        "--pool",
        "threads",
        "--concurrency",
        str(concurrency),
        *options,
    ]


def celery_worker_start(*, queues: str, concurrency: int, **popen_kwargs) -> subprocess.Popen:
    """A real threaded Celery worker (as the Procfile runs it, minus the cluster chatter a test
    does not need) on the given queues."""
    popen_kwargs.setdefault("env", child_env())
    popen_kwargs.setdefault("stdout", subprocess.DEVNULL)
    popen_kwargs.setdefault("stderr", subprocess.DEVNULL)
    options = ("--loglevel", "WARNING", "--without-gossip", "--without-mingle")
    return subprocess.Popen(
        celery_worker_command(queues=queues, concurrency=concurrency, options=options),
        cwd=REPO,
        **popen_kwargs,
    )


def postgres_connection_drop() -> int:
    """Terminate the PostgreSQL backend behind Django's default connection, as a server restart
    or a failover would, and return its pid. The connection object does not notice until used."""
    import psycopg

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"], port=settings["PORT"], user=settings["USER"], dbname="postgres"
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    return pid
