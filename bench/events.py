"""Verified Connect events stored per second by the portal, against the ceiling of a bare WSGI app
that only verifies the HMAC, both under the same gunicorn settings on loopback; then a burst from
64 clients, every event delivered twice, that must lose nothing.

    .venv/bin/python bench/events.py [--workers N] [--threads 8] [--clients 16] [--events 4000]
                                     [--rounds 3] [--burst-clients 64] [--burst-events 1000]

Production-like: DEBUG off, explicit SECRET_KEY / FIELD_ENCRYPTION_KEYS / ALLOWED_HOSTS, a dedicated
PostgreSQL database (`portal_bench_events`, dropped and recreated), Celery tasks enqueued to Redis
(db 9, flushed at the end), SECURE_SSL_REDIRECT=false because there is no TLS on loopback. Every
event is unique and correctly signed, so each portal request is one verified, stored row. Bounded:
a fixed number of events per run; it stops by itself.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime

from benchlib import (
    REPO_ROOT,
    bench_env,
    database_recreate,
    free_port,
    gunicorn_command,
    port_wait,
    processes_stop,
    single_tenant_prepare,
)

ROOT = REPO_ROOT

PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB_NAME = "portal_bench_events"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
HMAC_KEY = "bench-partner-hmac-key-0123456789abcdef"
ACCOUNT_ID = "bench0000-aaaa-4bbb-8ccc-000000000001"
HOOK = "/hooks/docusign/connect/"

ENV = bench_env(database_url=f"{PG}/{DB_NAME}", redis_url=REDIS_URL, BENCH_HMAC_KEY=HMAC_KEY)


def portal_prepare() -> None:
    """Migrate and create one tenant whose integration holds the partner HMAC key."""
    single_tenant_prepare(
        {**os.environ, **ENV},
        account_id=ACCOUNT_ID,
        hmac_key=HMAC_KEY,
        auth_base_url="http://127.0.0.1:8765",
    )


def stored_count() -> int:
    import psycopg

    with psycopg.connect(f"{PG}/{DB_NAME}") as conn:
        return conn.execute("SELECT count(*) FROM events_connectevent").fetchone()[0]


def bodies(count: int) -> list[tuple[bytes, str]]:
    """Unique JSON SIM messages, each with its signature (API.md 3.4, 3.1)."""
    out = []
    key = HMAC_KEY.encode()
    for i in range(count):
        now = datetime.now(UTC)
        envelope_id = str(uuid.uuid4())
        payload = {
            "event": "envelope-completed",
            "apiVersion": "v2.1",
            "uri": f"/restapi/v2.1/accounts/{ACCOUNT_ID}/envelopes/{envelope_id}",
            "retryCount": 0,
            "configurationId": 10001,
            "generatedDateTime": now.strftime("%Y-%m-%dT%H:%M:%S") + f".{i:07d}Z",
            "data": {
                "accountId": ACCOUNT_ID,
                "userId": str(uuid.uuid4()),
                "envelopeId": envelope_id,
            },
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        signature = base64.b64encode(hmac.digest(key, body, hashlib.sha256)).decode()
        out.append((body, signature))
    return out


def gunicorn_start(app: str, port: int, workers: int, threads: int) -> subprocess.Popen:
    # The Procfile's `web` settings: gthread, one worker per core (2 here), 8 threads each, so
    # a request waiting on its commit or the broker lets another run; the bare app gets exactly
    # the same settings.
    cmd = gunicorn_command(app, port, workers=workers, threads=threads)
    process = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **ENV})
    try:
        port_wait(port, f"gunicorn for {app}", process=process, timeout=30)
    except RuntimeError:
        processes_stop([process])
        raise
    time.sleep(1.0)  # let every worker finish importing
    return process


def load(
    port: int, messages: list[tuple[bytes, str]], clients: int, refused: list | None = None
) -> tuple[float, dict]:
    """Post every message once with `clients` threads; returns (seconds, status counts). Messages
    not answered 200 are appended to `refused` when given (for a retry, as DocuSign retries)."""
    lock = threading.Lock()
    position = [0]
    statuses: dict[int, int] = {}

    def worker():
        while True:
            with lock:
                if position[0] >= len(messages):
                    return
                body, signature = messages[position[0]]
                position[0] += 1
            # A new connection per request, as DocuSign's deliveries arrive.
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                conn.request(
                    "POST",
                    HOOK,
                    body=body,
                    headers={
                        "Content-Type": "application/json",
                        "X-DocuSign-AccountId": ACCOUNT_ID,
                        "X-DocuSign-Signature-1": signature,
                        "Connection": "close",
                    },
                )
                status = conn.getresponse().status
            except OSError:
                status = 0
            finally:
                conn.close()
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                if refused is not None and status != 200:
                    refused.append((body, signature))

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    return time.perf_counter() - started, statuses


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--burst-clients", type=int, default=64)
    parser.add_argument("--burst-events", type=int, default=1000)
    args = parser.parse_args()

    database_recreate(f"{PG}/{DB_NAME}")
    portal_prepare()
    apps = {"bare": "bench.bare_hmac_app:app", "portal": "portal.wsgi:application"}
    ports = {name: free_port() for name in apps}
    processes = {}
    try:
        for name, app in apps.items():
            processes[name] = gunicorn_start(app, ports[name], args.workers, args.threads)
            load(ports[name], bodies(args.warmup), args.clients)
        # Rounds alternate the two, back to back: a shared VM's speed drifts by tens of per cent
        # over minutes, so a ratio is only fair between neighbours; the median of the rounds is
        # the figure.
        ratios = []
        for round_number in range(1, args.rounds + 1):
            rates = {}
            for name in apps:
                before = stored_count()
                seconds, statuses = load(ports[name], bodies(args.events), args.clients)
                stored = stored_count() - before
                ok = statuses.get(200, 0)
                rates[name] = ok / seconds
                print(
                    f"round {round_number} {name:>6}: {ok}/{args.events} answered 200 in "
                    f"{seconds:.2f} s -> {ok / seconds:,.0f} verified events/s; statuses "
                    f"{statuses}" + (f"; rows stored {stored}" if name == "portal" else "")
                )
                if name == "portal" and stored != ok:
                    print("ERROR: stored rows differ from 200 answers", file=sys.stderr)
                    return 1
            ratios.append(rates["portal"] / rates["bare"])
            print(f"round {round_number} portal / ceiling = {ratios[-1]:.2f}")
        lost = burst(ports["portal"], args.burst_events, args.burst_clients)
    finally:
        for process in processes.values():
            processes_stop([process], timeout=15)
    print(
        f"portal / ceiling = {statistics.median(ratios):.2f} (median of {len(ratios)} rounds; "
        f"target >= 0.25) with {args.workers} gthread workers x {args.threads} threads, "
        f"{args.clients} client threads, {os.cpu_count()} CPUs"
    )
    subprocess.run(
        ["redis-cli", "-u", REDIS_URL, "del", "default"], check=False, stdout=subprocess.DEVNULL
    )
    return 1 if lost else 0


def burst(port: int, events: int, clients: int) -> bool:
    """`events` unique messages, each posted twice (a redelivery racing the first), by `clients`
    threads at once; what is not answered 200 is posted again, as DocuSign retries. True when
    something was lost: an answer other than 200 or 503, or stored rows != unique events."""
    messages = bodies(events)
    doubled = [item for pair in zip(messages, messages, strict=True) for item in pair]
    before = stored_count()
    all_statuses: dict[int, int] = {}
    pending, passes, started = doubled, 0, time.perf_counter()
    while pending and passes < 5:
        refused: list = []
        _, statuses = load(port, pending, clients, refused)
        for status, count in statuses.items():
            all_statuses[status] = all_statuses.get(status, 0) + count
        pending, passes = refused, passes + 1
    seconds = time.perf_counter() - started
    stored = stored_count() - before
    unexpected = {s: n for s, n in all_statuses.items() if s not in (200, 503)}
    print(
        f"burst: {len(doubled)} deliveries ({events} events, each twice) from {clients} clients "
        f"in {seconds:.2f} s over {passes} pass(es); statuses {all_statuses}; rows stored "
        f"{stored} of {events}; still refused {len(pending)}"
    )
    lost = bool(unexpected) or stored != events or bool(pending)
    print("burst: nothing lost" if not lost else "ERROR: burst lost or mangled events")
    return lost


if __name__ == "__main__":
    sys.exit(main())
