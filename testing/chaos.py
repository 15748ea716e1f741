"""Faults with real processes, for the chaos tests and bench/chaos.py: a redis-server of our own
(so it can be killed and restarted), Celery workers, a beat loop with short ticks, and a fleet of
tenants each with its own emulator account. Convergence is read from the database and the emulator.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from testing.processes import REPO, celery_worker_start, child_env

# The beat, as a loop with a short interval: each tick runs the due-work tasks' bodies (what beat
# enqueues every minute in production) and prints when it ran, so a test can count ticks.
BEAT_LOOP = """
import sys, time, django
django.setup()
from django.db import close_old_connections, connection
from common.tasks import bulk_items_sweep
from connect.tasks import connect_sync_due
from tenants.tasks import token_refresh_due
tick_s = float(sys.argv[1])
n = 0
while True:
    n += 1
    for body in (connect_sync_due, bulk_items_sweep, token_refresh_due):
        try:
            body()
        except Exception as exc:  # the broker or the database is away: the next tick retries
            print(f"tick {n} {body.__name__} failed: {type(exc).__name__}", flush=True)
            connection.close()
    print(f"tick {n} {time.time()}", flush=True)
    time.sleep(tick_s)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A throwaway redis-server on a free port, without persistence (a restart comes back empty,
    as after losing the broker)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> "RedisServer":
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        self.kill()


class Fleet:
    """The processes of one chaos run: workers and a beat loop on `redis`, the test database, the
    emulator; short lease and tick."""

    def __init__(self, *, redis: RedisServer, lease_s: int, tick_s: float, env: dict | None = None):
        self.redis = redis
        self.tick_s = tick_s
        self.env = child_env(
            **{
                "CELERY_BROKER_URL": redis.url,
                "REDIS_URL": redis.url,
                "WORK_LEASE_S": str(lease_s),
                "DEBUG": "true",
                **(env or {}),
            }
        )
        self.workers: list[subprocess.Popen] = []
        self.worker_logs: list[Path] = []
        # Workers that exited by themselves and were started again (epoch seconds).
        self.worker_restarts: list[float] = []
        self.beat: subprocess.Popen | None = None
        self.beat_log = Path(tempfile.mkstemp(prefix="chaos-beat-", suffix=".log")[1])
        self._killed: set[int] = set()
        self._concurrency: dict[int, int] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._supervisor = threading.Thread(target=self._supervise, daemon=True)
        self._supervisor.start()

    def worker_start(self, concurrency: int = 8) -> subprocess.Popen:
        log = Path(tempfile.mkstemp(prefix="chaos-worker-", suffix=".log")[1])
        worker = celery_worker_start(
            queues="default,refresh,sync,events",
            concurrency=concurrency,
            env=self.env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        with self._lock:
            self.worker_logs.append(log)
            self.workers.append(worker)
            self._concurrency[worker.pid] = concurrency
        return worker

    def worker_kill(self, worker: subprocess.Popen) -> None:
        with self._lock:
            self._killed.add(worker.pid)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)

    def worker_replace(self) -> float:
        """SIGKILL the oldest live worker (with the messages it holds and the calls it has in
        flight) and start a new one at once; returns when the new one was started (epoch s)."""
        with self._lock:
            victim = next(w for w in self.workers if w.pid not in self._killed and w.poll() is None)
        self.worker_kill(victim)
        self.worker_start(self._concurrency[victim.pid])
        return time.time()

    def _supervise(self) -> None:
        """Start again a worker that exits by itself, as the deployment's supervisor does
        (docker-compose.yml: `restart: unless-stopped`). Celery 5.7's worker can exit when the
        Redis connection drops while it holds unacknowledged messages (kombu restores them
        through a transport it has already released: AttributeError, "Unrecoverable error")."""
        while not self._stopping.wait(0.2):
            with self._lock:
                exited = [
                    w for w in self.workers if w.poll() is not None and w.pid not in self._killed
                ]
                for worker in exited:
                    self._killed.add(worker.pid)  # handled: not restarted twice
            for worker in exited:
                self.worker_restarts.append(time.time())
                self.worker_start(self._concurrency[worker.pid])

    def beat_start(self) -> None:
        self.beat = subprocess.Popen(
            [sys.executable, "-c", BEAT_LOOP, str(self.tick_s)],
            cwd=REPO,
            env={**self.env, "PYTHONPATH": str(REPO)},
            stdout=self.beat_log.open("w"),
            stderr=subprocess.STDOUT,
        )

    def ticks_since(self, since: float, until: float | None = None) -> int:
        """Beat ticks that finished after `since` (epoch seconds) and before `until`."""
        until = until if until is not None else time.time()
        count = 0
        for line in self.beat_log.read_text().splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] == "tick":
                at = float(parts[2])
                count += since < at <= until
        return count

    def run_python(self, code: str, *args: object) -> str:
        done = subprocess.run(
            [sys.executable, "-c", code, *map(str, args)],
            cwd=REPO,
            env={**self.env, "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(done.stderr[-2000:])
        return done.stdout

    def stop(self) -> None:
        self._stopping.set()
        self._supervisor.join(timeout=5)
        for process in [*self.workers, self.beat]:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=10)


def fleet_seed(*, emulator, emulator_server, integration, count: int, template_slug: str):
    """`count` consented tenants, each the admin of its own emulator account, and one template
    that applies to all. Returns (tenants, account ids)."""
    from connect.tests.factories import ConnectTemplateFactory
    from tenants.models import Tenant
    from tenants.tests.factories import TenantAccountFactory, TenantFactory, TenantTokenFactory

    user_id = str(uuid.uuid4())
    accounts = [str(uuid.uuid4()) for _ in range(count)]
    emulator.seed(
        accounts=[
            {"account_id": a, "account_name": f"Chaos {i}", "shard": "na3"}
            for i, a in enumerate(accounts)
        ],
        users=[
            {
                "user_id": user_id,
                "email": "chaos@client.test",
                "password": "pw-chaos-test",
                "name": "Cass Chaos",
                "memberships": [
                    {"account_id": a, "is_admin": True, "is_default": i == 0}
                    for i, a in enumerate(accounts)
                ],
            }
        ],
    )
    issued = emulator.issue_tokens(integration.integration_key, user_id)
    ConnectTemplateFactory(integration=integration, slug=template_slug)
    tenants = []
    for i, account_id in enumerate(accounts):
        tenant = TenantFactory(
            integration=integration, slug=f"chaos-{i}", status=Tenant.Status.CONSENTED
        )
        TenantAccountFactory(
            tenant=tenant,
            account_id=account_id,
            user_id=user_id,
            base_uri=emulator_server.base_uri("na3"),
        )
        TenantTokenFactory(
            tenant=tenant,
            access_token=issued["access_token"],
            refresh_token=issued["refresh_token"],
        )
        tenants.append(tenant)
    return tenants, accounts


def configurations_count(emulator, accounts: list[str], name: str) -> tuple[int, int]:
    """(accounts missing the configuration, accounts holding it more than once)."""
    missing = duplicated = 0
    for account_id in accounts:
        found = sum(1 for c in emulator.connect_configs(account_id) if c["name"] == name)
        missing += found == 0
        duplicated += found > 1
    return missing, duplicated


def postgres_backends_terminate(database: str) -> int:
    """Terminate every backend on `database` except this process's own: a server restart or a
    failover as the application's processes meet it. Returns how many."""
    import psycopg
    from django.db import connection

    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"], port=settings["PORT"], user=settings["USER"], dbname="postgres"
    ) as admin:
        own = admin.execute("SELECT pg_backend_pid()").fetchone()[0]
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> %s AND pid <> ALL(%s)",
            [database, own, _own_backends(connection)],
        ).fetchall()
    return len(rows)


def _own_backends(connection) -> list[int]:
    if connection.connection is None:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return [cursor.fetchone()[0]]
