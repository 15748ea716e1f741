"""What `/metrics` answers: the counters every process wrote (common/metrics.py), added up across
processes in multiprocess mode, and the fleet's gauges, read from the database and the broker at
scrape time with a fixed number of queries."""

import logging
import os
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from portal.selectors import (
    metrics_event_oldest_unprocessed_at,
    metrics_forwarding_backlog,
    metrics_leases_expired,
    metrics_rate_limits_lowest,
    metrics_sync_oldest_queued_at,
)
from tenants.selectors.attention import tenant_attention_summary
from tenants.selectors.fleet import tenant_state_counts

logger = logging.getLogger(__name__)

# The queues the Procfile's worker and forwarder consume (`--queues`).
CELERY_QUEUES = ("default", "refresh", "sync", "events")


def multiprocess_dir() -> str | None:
    """The folder every process writes its values to, or None (each process counts alone)."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def process_registry() -> CollectorRegistry:
    """The counters of every process sharing the folder, or of this process alone without one."""
    if multiprocess_dir() is None:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


class FleetCollector(Collector):
    """Gauges computed when scraped: tenants per state and per "needs a human" reason, the
    accounts closest to DocuSign's hourly limit, queue depths and the oldest waiting work."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self._tenants()
        yield self._rate_limits()
        yield from self._waiting()
        yield self._leases()
        yield from self._forwarding()
        yield self._queues()

    def _tenants(self) -> Iterator[GaugeMetricFamily]:
        states = GaugeMetricFamily(
            "portal_tenants", "Tenants per lifecycle state (archived apart).", labels=["state"]
        )
        for row in tenant_state_counts():
            states.add_metric([row["key"]], row["count"])
        yield states
        attention = GaugeMetricFamily(
            "portal_tenants_needing_human",
            'Tenants per "needs a human" reason, as the dashboard lists them.',
            labels=["reason"],
        )
        for item in tenant_attention_summary(sample=0)["categories"]:
            attention.add_metric([item["key"]], item["count"])
        yield attention

    def _rate_limits(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily(
            "portal_docusign_rate_limit_remaining",
            "Calls left in the current hour, as DocuSign last reported them, for the "
            "METRICS_TOP_ACCOUNTS accounts with the fewest.",
            labels=["account_id"],
        )
        for account_id, remaining, _ in metrics_rate_limits_lowest(
            limit=settings.METRICS_TOP_ACCOUNTS
        ):
            family.add_metric([account_id], remaining)
        return family

    def _waiting(self) -> Iterator[GaugeMetricFamily]:
        now = timezone.now()
        for name, help_text, since in (
            (
                "portal_connect_sync_oldest_queued_seconds",
                "How long the longest-waiting enqueued Connect sync has waited (0: none waits).",
                metrics_sync_oldest_queued_at(),
            ),
            (
                "portal_connect_event_oldest_unprocessed_seconds",
                "How long the oldest stored Connect event has waited to be processed.",
                metrics_event_oldest_unprocessed_at(),
            ),
        ):
            age = max(0.0, (now - since).total_seconds()) if since else 0.0
            yield GaugeMetricFamily(name, help_text, value=age)

    def _leases(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily(
            "portal_work_lease_expired",
            "Work waiting longer than its lease (enqueued, not ended, lease run out), by kind.",
            labels=["kind"],
        )
        for kind, count in metrics_leases_expired().items():
            family.add_metric([kind], count)
        return family

    def _forwarding(self) -> Iterator[GaugeMetricFamily]:
        backlog = metrics_forwarding_backlog()
        deliveries = GaugeMetricFamily(
            "portal_forwarding_backlog",
            "Deliveries to destinations not delivered yet: pending (to be tried) or dead.",
            labels=["status"],
        )
        deliveries.add_metric(["pending"], backlog["pending"])
        deliveries.add_metric(["dead"], backlog["dead"])
        yield deliveries
        oldest_due = backlog["oldest_due"]
        yield GaugeMetricFamily(
            "portal_forwarding_oldest_due_seconds",
            "How long the longest-due pending delivery has been due (0: none is due).",
            value=max(0.0, (timezone.now() - oldest_due).total_seconds()) if oldest_due else 0.0,
        )
        yield GaugeMetricFamily(
            "portal_forwarding_destinations_paused",
            "Destinations paused after failing too long (they need a human to resume them).",
            value=backlog["paused_destinations"],
        )

    def _queues(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily(
            "portal_celery_queue_messages",
            "Messages waiting in each Celery queue of the broker.",
            labels=["queue"],
        )
        try:
            for queue, count in _queue_lengths():
                family.add_metric([queue], count)
        except Exception:
            # The scrape still answers; the missing series is the signal (alert on absent()).
            logger.warning("metrics: the broker did not answer the queue lengths", exc_info=True)
        return family


def _queue_lengths() -> Iterator[tuple[str, int]]:
    from kombu.exceptions import ChannelError

    from portal.celery import app

    with app.connection_for_read() as connection:
        connection.ensure_connection(max_retries=1, timeout=2)
        channel: Any = connection.default_channel  # kombu's virtual channel: queue_declare
        for queue in CELERY_QUEUES:
            try:
                _, count, _ = channel.queue_declare(queue=queue, passive=True)
            except ChannelError:  # never declared: nothing was ever sent to it
                count = 0
            yield queue, count


def metrics_exposition() -> bytes:
    """The text `/metrics` answers, in Prometheus' exposition format."""
    fleet = CollectorRegistry()
    fleet.register(FleetCollector())
    return generate_latest(process_registry()) + generate_latest(fleet)
