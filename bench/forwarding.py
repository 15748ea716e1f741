"""Connect events forwarded to the partner's application, end to end: the emulator publishes,
the portal (gunicorn, the standard worker, the forwarder, beat) verifies, stores and forwards,
and a local sink standing in for the partner's endpoint answers 200 after 50 ms. Prints:

1. events forwarded per second, publishing as fast as the emulator can (so at most as fast as
   the portal receives them), and from a standing backlog stored while the workers were stopped
   (forwarding alone);
2. p50/p95 latency from the portal's receipt to the sink's 200, publishing 100 events/s
   (target p95 < 1 s);
3. a 60 s sink outage (503) while events keep coming at 20/s: how long the backlog takes to
   drain once the sink is back, and how many events were lost (target 0).

    .venv/bin/python bench/forwarding.py [--burst 600] [--rate 100] [--seconds 20]
                                         [--outage-s 60] [--outage-rate 20]
                                         [--max-in-flight 16] [--forwarders 1]
                                         [--forwarder-concurrency 16]

Its own PostgreSQL database (`portal_bench_forwarding` unless BENCH_DB_NAME, dropped and
recreated) and Redis (db 9 unless BENCH_REDIS_URL); every process it starts is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
from benchlib import (
    bench_env,
    database_recreate,
    free_port,
    gunicorn_command,
    port_wait,
    single_tenant_prepare,
    worker_command,
)

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB_NAME = os.environ.get("BENCH_DB_NAME", "portal_bench_forwarding")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
ACCOUNT_ID = "fwd00000-aaaa-4bbb-8ccc-000000000001"
HMAC_KEY = "bench-forwarding-hmac-key-0123456789abcdef"
SINK_DELAY_S = 0.05


class Sink:
    """The partner's endpoint: 200 after 50 ms (503 during an outage); records when each
    event was first answered 200, by the portal's event id."""

    def __init__(self):
        self.down = False
        self.lock = threading.Lock()
        self.delivered: dict[int, float] = {}  # event id -> time of the first 200
        self.requests = 0
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a partner's web server does

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(SINK_DELAY_S)
                status = 503 if sink.down else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if status == 200:
                    event_id = json.loads(body)["data"]["event_id"]
                    with sink.lock:
                        sink.delivered.setdefault(event_id, time.time())
                with sink.lock:
                    sink.requests += 1

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self) -> int:
        with self.lock:
            return len(self.delivered)


def env(web_port: int, emulator_port: int) -> dict[str, str]:
    return {
        **os.environ,
        **bench_env(database_url=f"{PG}/{DB_NAME}", redis_url=REDIS_URL),
        "OUTBOUND_ALLOWED_HOSTS": "127.0.0.1",
        "PORTAL_PUBLIC_URL": f"http://127.0.0.1:{web_port}",
        "DOCUSIGN_EMULATOR_URL": f"http://127.0.0.1:{emulator_port}",
    }


def prepare(environment: dict, sink_url: str, max_in_flight: int) -> None:
    """The bench tenant (benchlib) and one destination, the sink, with a signing secret."""
    single_tenant_prepare(
        environment,
        account_id=ACCOUNT_ID,
        hmac_key=HMAC_KEY,
        auth_base_url="http://127.0.0.1:1",
        then=f"""
from forwarding.models import Destination, DestinationSecret
from forwarding.services.signing import signing_secret_new
destination = Destination.objects.create(integration=integration, name="sink", url="{sink_url}",
    max_in_flight={max_in_flight})
DestinationSecret.objects.create(destination=destination, secret=signing_secret_new())
""",
    )


def emulator_setup(emulator: str, hook_url: str) -> None:
    seed = {
        "accounts": [{"account_id": ACCOUNT_ID, "account_name": "Bench", "hmac_keys": [HMAC_KEY]}]
    }
    requests.post(f"{emulator}/_emulator/reset", json=seed, timeout=30).raise_for_status()
    config = {
        "name": "bench",
        "urlToPublishTo": hook_url,
        "allowEnvelopePublish": "true",
        "allUsers": "true",
        "includeHMAC": "true",
        "deliveryMode": "SIM",
        "eventData": {"version": "restv2.1"},
        "events": ["envelope-completed"],
    }
    requests.post(
        f"{emulator}/_emulator/accounts/{ACCOUNT_ID}/connect", json=config, timeout=30
    ).raise_for_status()


def publish(emulator: str, count: int, rate: float | None, threads: int = 8) -> list[int]:
    """Publish `count` events (paced at `rate`/s when given); returns the statuses the portal
    answered the emulator (200 expected)."""
    lock = threading.Lock()
    statuses: list[int] = []
    started = time.monotonic()
    position = [0]

    def run():
        session = requests.Session()
        while True:
            with lock:
                index = position[0]
                if index >= count:
                    return
                position[0] += 1
            if rate:
                delay = started + index / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            response = session.post(
                f"{emulator}/_emulator/accounts/{ACCOUNT_ID}/events",
                json={"event": "envelope-completed"},
                timeout=60,
            )
            answers = response.json()
            ok = answers and answers[0]["status"] == "delivered"
            with lock:
                statuses.append(200 if ok else 0)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return statuses


def received_at() -> dict[int, float]:
    import psycopg

    with psycopg.connect(f"{PG}/{DB_NAME}") as conn:
        rows = conn.execute("SELECT id, received_at FROM events_connectevent").fetchall()
    return {event_id: when.timestamp() for event_id, when in rows}


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    return children


def _cpu_s(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def cpu_sample(processes: dict[str, subprocess.Popen]) -> dict[str, float]:
    """CPU seconds used so far by each started process and its children, by the PostgreSQL
    backends of the bench database, and by this process (publisher and sink)."""
    import psycopg

    children = _children()
    sample = {}
    for name, process in processes.items():
        tree, stack = [], [process.pid]
        while stack:
            pid = stack.pop()
            tree.append(pid)
            stack.extend(children.get(pid, []))
        sample[name] = _cpu_s(tree)
    with psycopg.connect(f"{PG}/{DB_NAME}") as conn:
        backends = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (DB_NAME,),
        ).fetchall()
    sample["postgres"] = _cpu_s([pid for (pid,) in backends])
    times = os.times()
    sample["bench"] = times.user + times.system
    return sample


def cpu_per_event(before: dict[str, float], after: dict[str, float], events: int) -> str:
    return ", ".join(
        f"{name} {1000 * (after[name] - before[name]) / max(events, 1):.1f}"
        for name in after
        if name != "beat"
    )


def wait_for(sink: Sink, total: int | None, timeout: float) -> bool:
    """Until the sink has `total` events (None: every event the portal stored)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sink.count() >= (total if total is not None else len(received_at())):
            return True
        time.sleep(0.2)
    return False


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--burst", type=int, default=600)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--outage-s", type=int, default=60)
    parser.add_argument("--outage-rate", type=float, default=20)
    # Little's law: 100 events/s answered after 50 ms keep 5 requests in flight on average; the
    # destination's bound leaves room for bursts and for the time each slot spends recording.
    parser.add_argument("--max-in-flight", type=int, default=16)
    parser.add_argument("--forwarders", type=int, default=1)
    parser.add_argument("--forwarder-concurrency", type=int, default=16)
    args = parser.parse_args()

    sink = Sink()
    web_port, emulator_port = free_port(), free_port()
    environment = env(web_port, emulator_port)
    database_recreate(f"{PG}/{DB_NAME}")
    prepare(environment, sink.url, args.max_in_flight)
    subprocess.run(["redis-cli", "-u", REDIS_URL, "flushdb"], check=False, capture_output=True)
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    processes = {
        "emulator": subprocess.Popen(
            [sys.executable, "-m", "docusign_emulator", "--port", str(emulator_port)], cwd=ROOT
        ),
        "web": subprocess.Popen(
            gunicorn_command("portal.wsgi", web_port), cwd=ROOT, env=environment
        ),
        # The Procfile's worker (one process; docker-compose runs 4) and its forwarders.
        "worker": subprocess.Popen(
            worker_command(concurrency=8, hostname="bench-forwarding@%h"),
            cwd=ROOT,
            env={**environment, "LOG_LEVEL": "WARNING"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        **{
            f"forwarder{n}": subprocess.Popen(
                worker_command(
                    concurrency=args.forwarder_concurrency,
                    hostname=f"bench-forwarder{n}@%h",
                    queues="events",
                ),
                cwd=ROOT,
                env={**environment, "LOG_LEVEL": "WARNING"},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for n in range(1, args.forwarders + 1)
        },
        "beat": subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "beat", "--loglevel", "WARNING"],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
    }
    lost = 0
    try:
        port_wait(emulator_port, "the emulator", process=processes["emulator"])
        port_wait(web_port, "gunicorn", process=processes["web"])
        emulator_setup(emulator_url, f"http://127.0.0.1:{web_port}/hooks/docusign/connect/")
        publish(emulator_url, 20, None)  # warm-up: imports, connections
        wait_for(sink, None, 120)

        # 1. Throughput.
        base = sink.count()
        cpu_before = cpu_sample(processes)
        started = time.monotonic()
        statuses = publish(emulator_url, args.burst, None)
        done = wait_for(sink, None, 300)
        seconds = time.monotonic() - started
        print(
            f"1. {args.burst} events published as fast as possible: {statuses.count(200)} "
            f"accepted by the portal; {sink.count() - base} forwarded in {seconds:.1f} s -> "
            f"{(sink.count() - base) / seconds:,.0f} events forwarded/s"
            + ("" if done else " (NOT all forwarded within 300 s)")
        )
        print(
            "   CPU ms per event (PostgreSQL: backends connected at both ends): "
            + cpu_per_event(cpu_before, cpu_sample(processes), sink.count() - base)
            + f"; load average {os.getloadavg()[0]:.1f}"
        )

        # 1b. Forwarding alone: a standing backlog, stored while the workers were stopped.
        base = sink.count()
        workers = [p for name, p in processes.items() if name.startswith(("worker", "forwarder"))]
        for process in workers:
            process.send_signal(signal.SIGSTOP)
        statuses = publish(emulator_url, args.burst, None)
        cpu_before = cpu_sample(processes)
        started = time.monotonic()
        for process in workers:
            process.send_signal(signal.SIGCONT)
        done = wait_for(sink, None, 300)
        seconds = time.monotonic() - started
        print(
            f"1b. {args.burst} events stored while the workers were stopped, then forwarded: "
            f"{sink.count() - base} in {seconds:.1f} s -> {(sink.count() - base) / seconds:,.0f} "
            "events forwarded/s" + ("" if done else " (NOT all forwarded within 300 s)")
        )
        print(
            "    CPU ms per event: "
            + cpu_per_event(cpu_before, cpu_sample(processes), sink.count() - base)
            + f"; load average {os.getloadavg()[0]:.1f}"
        )

        # 2. Latency at a steady rate.
        base_ids = set(sink.delivered)
        cpu_before = cpu_sample(processes)
        count = int(args.rate * args.seconds)
        statuses = publish(emulator_url, count, args.rate)
        wait_for(sink, None, 120)
        receipts = received_at()
        latencies = sorted(
            (sink.delivered[i] - receipts[i]) * 1000 for i in sink.delivered if i not in base_ids
        )
        if os.environ.get("BENCH_TIMELINE"):
            by_second: dict[int, list[float]] = {}
            first = min(receipts[i] for i in sink.delivered if i not in base_ids)
            for i in sink.delivered:
                if i not in base_ids:
                    by_second.setdefault(int(receipts[i] - first), []).append(
                        (sink.delivered[i] - receipts[i]) * 1000
                    )
            for second, values in sorted(by_second.items()):
                print(f"   second {second}: {len(values)} events, max {max(values):,.0f} ms")
        print(
            f"2. {count} events at {args.rate:g}/s: receipt -> sink 200 p50 "
            f"{statistics.median(latencies):,.0f} ms, p95 "
            f"{latencies[int(0.95 * (len(latencies) - 1))]:,.0f} ms (target p95 < 1,000 ms); "
            f"{len(latencies)}/{count} forwarded"
        )
        print(
            "   CPU ms per event: "
            + cpu_per_event(cpu_before, cpu_sample(processes), len(latencies))
            + f"; load average {os.getloadavg()[0]:.1f}"
        )

        # 3. An outage of the partner's endpoint.
        sink.down = True
        outage_started = time.monotonic()
        count = int(args.outage_rate * args.outage_s)
        statuses = publish(emulator_url, count, args.outage_rate)
        time.sleep(max(0.0, args.outage_s - (time.monotonic() - outage_started)))
        sink.down = False
        back = time.monotonic()
        drained = wait_for(sink, None, 900)
        drain_s = time.monotonic() - back
        stored = len(received_at())
        lost = stored - sink.count()
        print(
            f"3. {args.outage_s} s sink outage with {count} events arriving: backlog "
            f"{'drained' if drained else 'NOT drained'} {drain_s:,.0f} s after the sink came back "
            f"(the retry schedule: 5 s, 30 s, 2 min, ... with jitter); {stored} events stored, "
            f"{sink.count()} forwarded, lost {lost}; sink requests {sink.requests}"
        )
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        sink.server.shutdown()
        subprocess.run(["redis-cli", "-u", REDIS_URL, "flushdb"], check=False, capture_output=True)
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
