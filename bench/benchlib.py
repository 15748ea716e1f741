"""What the bench scripts share (`python bench/<script>.py` puts this folder on sys.path)."""

import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testing.processes import celery_worker_command


def database_recreate(url: str) -> None:
    """Drop and create the bench database `url` names, so every run starts from the same empty
    tables (a run on the leftovers of earlier runs measured PostgreSQL's bloat, not the portal).
    The scripts only ever pass their own names (portal_bench*, never the dev database)."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def worker_command(
    *, concurrency: int, hostname: str, queues: str = "default,refresh,sync"
) -> list:
    """The Procfile's worker command, as each of docker-compose.yml's worker replicas runs it (the
    standard worker setup the targets are measured with), under this interpreter; with
    `queues="events"`, its forwarder command."""
    return celery_worker_command(
        queues=queues,
        concurrency=concurrency,
        options=("--loglevel", "INFO", "--hostname", hostname),
    )
