"""Chaos benchmark: each fault with real processes, and how long the fleet takes to heal by itself.

    .venv/bin/python bench/chaos.py [--tenants 500] [--workers 2] [--concurrency 8]
                                    [--tick-s 15] [--lease-s 15] [--latency-ms 100]
                                    [--faults worker,broker,database,refresh-lenient,refresh-strict]

Starts its own emulator (`--latency-ms`), its own redis-server on a free port (broker, call budget;
killed and restarted empty by the broker fault), uses a dedicated PostgreSQL database
(`portal_bench_chaos` on the server DATABASE_URL names; dropped and recreated each run), prints the
figures and stops everything it started. The processes are those of testing/chaos.py (the chaos
tests' own): `--workers` Celery workers (threads pool, `--concurrency`, every queue, production
settings) and a beat loop that runs the beat tasks' bodies (connect_sync_due, bulk_items_sweep,
token_refresh_due) every `--tick-s` seconds; work is leased for `--lease-s` (WORK_LEASE_S). A
worker that exits by itself is started again, as docker-compose.yml's restart policy does (the
figures say how many did).
Each tenant is its own DocuSign account with its own admin user and real tokens.

The faults, one after the other on the same fleet:
- worker: the first push of every tenant; one worker is killed with SIGKILL when a quarter of the
  fleet is synced, and a new one started at once.
- broker: a new template version, every tenant made due; when a quarter is synced, redis-server
  is killed and started again empty (every queued message, the budget counters gone).
- database: a bulk push of another version; when a tenth of the items are done, every PostgreSQL
  backend of the bench database (workers, beat) is terminated.
- refresh-lenient / refresh-strict: every access token made due for refresh; when a quarter of
  the fleet is refreshed, one worker is killed with SIGKILL (its refresh calls in flight) and a
  new one started, under the emulator's lenient or strict refresh-token rotation.

For each: seconds from the fault's end to convergence, and the beat ticks in between; tenants
missing the configuration at the emulator, duplicated (more than one configuration of the portal's
name), stranded (needing re-consent). For the refresh faults, the refresh calls whose answer was
lost with the killed worker (DocuSign's calls minus the answers stored and the refusals): those in
flight at the kill. Under strict rotation each of those strands its tenant, and nothing else may.
Target: convergence within two beat ticks, 0 missing, 0 duplicated, stranded only those in flight.
"""

import argparse
import os
import time
from dataclasses import dataclass
from datetime import timedelta

from benchlib import (
    bench_database_url,
    bench_env,
    connect_template_seed,
    database_recreate,
    emulator_fleet_seed,
)

BENCH_DB_NAME = "portal_bench_chaos"
TEMPLATE_SLUG = "bench"
REFRESH_KEY = "POST /oauth/token refresh_token"
FAULTS = ("worker", "broker", "database", "refresh-lenient", "refresh-strict")


@dataclass
class Outcome:
    fault: str
    heal_s: float
    ticks: int
    missing: int
    duplicated: int
    stranded: int
    in_flight: int | None = None
    restarted: int = 0
    note: str = ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    # Long enough for the workers to drain a fan-out of the whole fleet within one lease (a
    # message waiting longer expires with its lease), short enough to keep the run to minutes.
    parser.add_argument("--tick-s", type=float, default=15.0, help="the beat loop's interval")
    parser.add_argument("--lease-s", type=int, default=15, help="WORK_LEASE_S")
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--faults", default=",".join(FAULTS), help="comma-separated, in order")
    parser.add_argument(
        "--timeout-s", type=float, default=180, help="give up on a fault's convergence after"
    )
    args = parser.parse_args()
    faults = [f for f in args.faults.split(",") if f]
    unknown = set(faults) - set(FAULTS)
    if unknown:
        parser.error(f"unknown faults: {', '.join(sorted(unknown))}")

    from testing.chaos import RedisServer

    redis_server = RedisServer().start()
    db_url = bench_database_url(BENCH_DB_NAME)
    env = bench_env(
        database_url=db_url,
        redis_url=redis_server.url,
        log_level="INFO",
        WORK_LEASE_S=str(args.lease_s),
    )
    os.environ.update(env)
    database_recreate(db_url)
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        run(args, faults, redis_server, env)
    finally:
        redis_server.stop()


def run(args, faults: list[str], redis_server, env: dict) -> None:
    from docusign_emulator.testing import TEST_SEED, EmulatorServer
    from testing.chaos import Fleet

    with EmulatorServer(latency_ms=args.latency_ms) as server:
        control = server.control
        control.reset(seed=TEST_SEED)
        started = time.monotonic()
        integration, _, accounts = emulator_fleet_seed(server, count=args.tenants)
        connect_template_seed(integration, slug=TEMPLATE_SLUG)
        print(
            f"{args.tenants} tenants (seeded in {time.monotonic() - started:.0f} s), "
            f"{args.workers} worker(s) x {args.concurrency} threads, emulator latency "
            f"{args.latency_ms} ms, beat tick {args.tick_s:g} s, lease {args.lease_s} s"
        )
        fleet = Fleet(redis=redis_server, lease_s=args.lease_s, tick_s=args.tick_s, env=env)
        bench = ChaosBench(args, fleet, control, redis_server, accounts)
        try:
            for _ in range(args.workers):
                fleet.worker_start(args.concurrency)
            outcomes = []
            for fault in faults:
                outcome = bench.run(fault)
                outcomes.append(outcome)
                print(_row(outcome), flush=True)
        finally:
            fleet.stop()
    print()
    print(_table(outcomes, args.tick_s))


class ChaosBench:
    def __init__(self, args, fleet, control, redis_server, accounts: list[str]) -> None:
        self.args = args
        self.fleet = fleet
        self.control = control
        self.redis_server = redis_server
        self.count = len(accounts)
        self.accounts = accounts
        self.version = 1
        self.stranded_before = 0
        self.restarts_before = 0

    def run(self, fault: str) -> Outcome:
        from tenants.models import Tenant

        if self.fleet.beat is None:
            self.fleet.beat_start()
        self.stranded_before = Tenant.objects.filter(status=Tenant.Status.NEEDS_RECONSENT).count()
        self.restarts_before = len(self.fleet.worker_restarts)
        if fault == "worker":
            return self.worker_kill_mid_sync()
        if fault == "broker":
            return self.broker_loss_mid_fan_out()
        if fault == "database":
            return self.database_blip_mid_bulk_push()
        return self.worker_kill_mid_refresh(rotation=fault.removeprefix("refresh-"))

    # --- the faults ------------------------------------------------------------------------

    def worker_kill_mid_sync(self) -> Outcome:
        from django.utils import timezone

        since = timezone.now()
        self._wait(lambda: self._synced(since) >= self.count // 4, "a quarter synced")
        fault_ended = self.fleet.worker_replace()
        healed_at = self._wait(lambda: self._synced(since) >= self.count, "every tenant synced")
        return self._outcome("worker kill -9 mid-sync", fault_ended, healed_at)

    def broker_loss_mid_fan_out(self) -> Outcome:
        from connect.models import TenantConnectState

        since = self._new_version()
        TenantConnectState.objects.update(last_sync_at=since - timedelta(days=1))
        self._wait(lambda: self._synced(since) >= self.count // 4, "a quarter synced")
        self.redis_server.kill()
        self.redis_server.start()  # empty: every message it held is gone
        fault_ended = time.time()
        healed_at = self._wait(lambda: self._synced(since) >= self.count, "every tenant synced")
        return self._outcome("broker lost (Redis restarted empty)", fault_ended, healed_at)

    def database_blip_mid_bulk_push(self) -> Outcome:
        from django.db import connection

        from common.bulk import bulk_operation_start
        from common.models import BulkOperation, BulkOperationItem
        from tenants.models import Tenant
        from testing.chaos import postgres_backends_terminate

        since = self._new_version()
        tenants = list(Tenant.objects.order_by("pk").values_list("pk", "name"))
        operation = bulk_operation_start(
            kind=BulkOperation.Kind.CONNECT_PUSH, tenants=tenants, actor=None
        )
        items = BulkOperationItem.objects.filter(operation=operation)
        done = items.exclude(outcome=BulkOperationItem.Outcome.PENDING)
        self._wait(lambda: done.count() >= self.count // 10, "a tenth of the items done")
        terminated = postgres_backends_terminate(connection.settings_dict["NAME"])
        fault_ended = time.time()

        def finished() -> bool:
            return BulkOperation.objects.filter(pk=operation.pk, finished_at__isnull=False).exists()

        healed_at = self._wait(finished, "the bulk operation to finish")
        operation.refresh_from_db()
        behind = self.count - self._synced(since)
        return self._outcome(
            "database backends terminated mid bulk push",
            fault_ended,
            healed_at,
            note=f"{terminated} backends; items {operation.succeeded} succeeded, "
            f"{operation.failed} failed; {behind} not at the new version",
        )

    def worker_kill_mid_refresh(self, *, rotation: str) -> Outcome:
        from django.db.models import Q, Sum
        from django.utils import timezone

        from tenants.models import Tenant, TenantStatusChange, TenantToken
        from tenants.services.token_failures import REFRESH_INTERRUPTED_REASON

        self.control.config(refresh_rotation=rotation)
        tokens = TenantToken.objects.filter(tenant__status__in=self._usable())
        generations_before = tokens.aggregate(n=Sum("generation"))["n"] or 0
        self.control.reset_calls()
        since = timezone.now()
        # Due for the scheduler (inside REFRESH_AHEAD) while callers still use the stored token.
        tokens.update(
            access_expires_at=since + timedelta(minutes=15), refresh_lease_expires_at=None
        )
        due = tokens.count()
        refreshed = TenantToken.objects.filter(refreshed_at__gte=since)
        self._wait(lambda: refreshed.count() >= due // 4, "a quarter refreshed")
        fault_ended = self.fleet.worker_replace()
        settled = TenantToken.objects.filter(
            Q(refreshed_at__gte=since) | Q(tenant__status=Tenant.Status.NEEDS_RECONSENT)
        )
        healed_at = self._wait(lambda: settled.count() >= self.count, "every tenant refreshed")

        stranded = self._stranded()
        stored = (TenantToken.objects.aggregate(n=Sum("generation"))["n"] or 0) - (
            generations_before
        )
        calls = self.control.calls().get(REFRESH_KEY, 0)
        # Each stranded tenant's one refused call is an answer too; what is left never came back.
        lost = calls - stored - stranded
        explained = TenantStatusChange.objects.filter(
            changed_at__gte=since, reason=REFRESH_INTERRUPTED_REASON
        ).count()
        return self._outcome(
            f"worker kill -9 during refresh ({rotation} rotation)",
            fault_ended,
            healed_at,
            in_flight=lost,
            stranded=stranded,
            note=f"{calls} refresh calls, {stored} stored; {explained} stranded shown as "
            "'refresh interrupted after DocuSign rotated'",
        )

    # --- helpers --------------------------------------------------------------------------

    def _new_version(self):
        """A new version of the template, so every tenant's next sync must write."""
        from django.utils import timezone

        from connect.models import ConnectTemplate, ConnectTemplateVersion

        template = ConnectTemplate.objects.get(slug=TEMPLATE_SLUG)
        current = template.versions.get(number=template.current_version)
        self.version = template.current_version + 1
        events = ["envelope-sent", "envelope-completed", "envelope-voided"][: 1 + self.version % 3]
        ConnectTemplateVersion.objects.create(
            template=template,
            number=self.version,
            created_by_label="bench",
            settings={**current.settings, "events": events},
        )
        ConnectTemplate.objects.filter(pk=template.pk).update(current_version=self.version)
        return timezone.now()

    def _synced(self, since) -> int:
        """Tenants whose configuration is at the current version, synced since `since`, and not
        queued again."""
        from connect.models import TenantConnectState

        return TenantConnectState.objects.filter(
            last_sync_at__gte=since,
            lease_expires_at__isnull=True,
            versions__contains={TEMPLATE_SLUG: self.version},
        ).count()

    def _wait(self, condition, what: str) -> float:
        deadline = time.monotonic() + self.args.timeout_s
        while not condition():
            if time.monotonic() > deadline:
                raise SystemExit(f"gave up after {self.args.timeout_s:g} s waiting for {what}")
            time.sleep(0.05)
        return time.time()

    @staticmethod
    def _usable():
        from tenants.models import Tenant

        return (Tenant.Status.CONSENTED, Tenant.Status.ACTIVE, Tenant.Status.ERROR)

    def _outcome(
        self,
        fault: str,
        fault_ended: float,
        healed_at: float,
        *,
        stranded: int | None = None,
        in_flight: int | None = None,
        note: str = "",
    ) -> Outcome:
        from connect.services.templates import config_name
        from testing.chaos import configurations_count

        restarted = len(self.fleet.worker_restarts) - self.restarts_before
        missing, duplicated = configurations_count(
            self.control, self.accounts, config_name(TEMPLATE_SLUG)
        )
        return Outcome(
            fault=fault,
            heal_s=healed_at - fault_ended,
            ticks=self.fleet.ticks_since(fault_ended, healed_at),
            missing=missing,
            duplicated=duplicated,
            stranded=self._stranded() if stranded is None else stranded,
            in_flight=in_flight,
            restarted=restarted,
            note=note,
        )

    def _stranded(self) -> int:
        """Tenants this fault left needing re-consent."""
        from tenants.models import Tenant

        needs = Tenant.objects.filter(status=Tenant.Status.NEEDS_RECONSENT).count()
        return needs - self.stranded_before


def _row(o: Outcome) -> str:
    in_flight = "" if o.in_flight is None else f", in flight at the kill {o.in_flight}"
    return (
        f"{o.fault}: healed {o.heal_s:.1f} s after the fault ({o.ticks} beat ticks); "
        f"missing {o.missing}, duplicated {o.duplicated}, stranded {o.stranded}{in_flight}"
        + (f"; {o.restarted} worker(s) exited and were restarted" if o.restarted else "")
        + (f" [{o.note}]" if o.note else "")
    )


def _table(outcomes: list[Outcome], tick_s: float) -> str:
    lines = [
        f"{'fault':48} {'heal s':>7} {'ticks':>5} {'missing':>7} {'dup':>4} {'stranded':>8} "
        f"{'in flight':>9} {'restarts':>8}",
    ]
    for o in outcomes:
        in_flight = "-" if o.in_flight is None else str(o.in_flight)
        lines.append(
            f"{o.fault:48} {o.heal_s:7.1f} {o.ticks:5d} {o.missing:7d} {o.duplicated:4d} "
            f"{o.stranded:8d} {in_flight:>9} {o.restarted:8d}"
        )
    met = all(
        o.ticks <= 2
        and o.missing == 0
        and o.duplicated == 0
        and o.stranded == (o.in_flight if "strict" in o.fault else 0)
        for o in outcomes
    )
    lines.append(
        f"target: within 2 beat ticks ({2 * tick_s:g} s), 0 missing, 0 duplicated, stranded only "
        f"the refreshes in flight under strict rotation: {'met' if met else 'NOT met'}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
