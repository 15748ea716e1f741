"""Forwarding verified Connect events to the partner's own application: destinations, the signing
secrets they are sent with, one delivery per (destination, event), and every attempt.

This app sits below `events` (which hands it each stored event): it imports nothing from
`events` and names the event model by its label only.
"""

from django.db import models
from django.utils import timezone

from common.fields import EncryptedTextField
from tenants.models import Integration, Tenant


class Destination(models.Model):
    """One URL of the partner's application that receives an integration's events."""

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="forwarding_destinations"
    )
    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    # Event names wanted (envelope-completed, ...); empty means every event.
    event_types = models.JSONField(default=list, blank=True)
    # Tenants whose events are wanted; none chosen means every tenant of the integration.
    tenants = models.ManyToManyField(Tenant, blank=True, related_name="+")
    # Deliveries in flight at once to this URL, so one slow endpoint cannot hold every worker.
    max_in_flight = models.PositiveSmallIntegerField(default=4)
    created_at = models.DateTimeField(default=timezone.now)
    # Set by the first failure after a success, cleared by a success: the pause clock.
    failing_since = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    pause_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["integration", "name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.url})"

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "max_in_flight" in update_fields:
            # One slot row per delivery allowed in flight (slots above the bound stay unused).
            DestinationSlot.objects.bulk_create(
                [DestinationSlot(destination=self, number=n) for n in range(self.max_in_flight)],
                ignore_conflicts=True,
            )

    @property
    def is_paused(self) -> bool:
        return self.paused_at is not None


class DestinationSecret(models.Model):
    """A Standard Webhooks signing secret (`whsec_…`). While a rotation overlaps, two are live and
    every message carries both signatures."""

    destination = models.ForeignKey(Destination, on_delete=models.CASCADE, related_name="secrets")
    secret = EncryptedTextField()
    created_at = models.DateTimeField(default=timezone.now)
    # None while current; the end of the overlap once a newer secret replaced it.
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["destination", "-created_at", "-id"]

    def __str__(self) -> str:
        return f"Signing secret {self.pk} of destination {self.destination_id}"


class Delivery(models.Model):
    """One event to one destination: delivered at least once, in order per envelope."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Delivered"
        DEAD = "dead", "Dead (retries exhausted)"

    destination = models.ForeignKey(
        Destination, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(
        "events.ConnectEvent", on_delete=models.CASCADE, related_name="deliveries"
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    # Copied from the event: the ordering key (deliveries of one envelope go in event order).
    envelope_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # Attempts in the current round (a replay starts a new round; the attempt rows stay).
    attempt_count = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # Held by the worker sending it; an expired lease (a killed worker) frees it again.
    leased_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-event_id"]
        constraints = [
            models.UniqueConstraint(fields=["destination", "event"], name="delivery_once")
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
            # The claim's "an earlier event of this envelope is pending" (and the backlog count).
            models.Index(
                fields=["destination", "status", "envelope_id", "event_id"], name="delivery_order"
            ),
            # A sender's round: the destination's pending deliveries, oldest first.
            models.Index(
                fields=["destination", "event_id"],
                condition=models.Q(status="pending"),
                name="delivery_pending_in_order",
            ),
        ]

    def __str__(self) -> str:
        return f"Delivery of event {self.event_id} to {self.destination_id} ({self.status})"

    @property
    def webhook_id(self) -> str:
        """The Standard Webhooks `webhook-id`: the same on every retry and replay."""
        return f"msg_{self.event_id}_{self.destination_id}"


class DestinationSlot(models.Model):
    """One of the `max_in_flight` deliveries a destination may have in flight at once: a sender
    holds one per delivery of its round, for the round's lease. Claimed with SELECT ... FOR
    UPDATE SKIP LOCKED, so senders never wait on each other (a count under a lock on the
    destination row made every claim of a busy destination queue behind the one before)."""

    destination = models.ForeignKey(Destination, on_delete=models.CASCADE, related_name="slots")
    number = models.PositiveSmallIntegerField()
    delivery = models.ForeignKey(
        Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Free when empty or past: a killed worker's slot frees itself with its delivery's lease.
    leased_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["destination", "number"]
        constraints = [
            models.UniqueConstraint(fields=["destination", "number"], name="destination_slot_once")
        ]

    def __str__(self) -> str:
        return f"Slot {self.number} of destination {self.destination_id}"


class DeliveryAttempt(models.Model):
    """One HTTP attempt: what the destination answered, or why there was no answer."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    destination = models.ForeignKey(Destination, on_delete=models.CASCADE, related_name="+")
    attempted_at = models.DateTimeField(default=timezone.now)
    succeeded = models.BooleanField(default=False)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-attempted_at", "-id"]
        indexes = [models.Index(fields=["destination", "-attempted_at"], name="attempt_recent")]

    def __str__(self) -> str:
        return f"Attempt {self.pk} of delivery {self.delivery_id}"
