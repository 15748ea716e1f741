"""What the bench scripts share (`python bench/<script>.py` puts this folder on sys.path)."""

from urllib.parse import urlsplit, urlunsplit


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
