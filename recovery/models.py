"""Connect deliveries that did not reach the portal, and each tenant's recovery state.

A `DeliveryFailure` comes from DocuSign's failure log, from a failed entry of its Connect log, or
from the completeness check (a status change DocuSign reports that no received event matches). It
is marked recovered only when a matching event is stored, never on DocuSign's word alone.
"""

from django.db import models
from django.utils import timezone

from events.models import ConnectEvent
from tenants.models import Tenant


class DeliveryFailure(models.Model):
    class Source(models.TextChoices):
        FAILURE_LOG = "failure_log", "DocuSign failure log"
        CONNECT_LOG = "connect_log", "DocuSign Connect log"
        COMPLETENESS = "completeness", "Completeness check"

    class State(models.TextChoices):
        OPEN = "open", "Not recovered"
        QUEUED = "queued", "Republish queued"
        REPUBLISHED = "republished", "Republished, awaiting the event"
        FAILED_AGAIN = "failed_again", "Republish failed"
        CANNOT_REPUBLISH = "cannot_republish", "Cannot be republished"
        RECOVERED = "recovered", "Recovered"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="delivery_failures")
    source = models.CharField(max_length=16, choices=Source.choices)
    # failureId, logId, or "<envelopeId>:<status>" for a completeness gap: re-reads add nothing.
    source_id = models.CharField(max_length=120)
    envelope_id = models.CharField(max_length=64, blank=True)
    connect_id = models.CharField(max_length=32, blank=True)
    # The envelope status the lost message carried (ConnectLog.status); "" when DocuSign gave none.
    envelope_status = models.CharField(max_length=32, blank=True)
    error = models.CharField(max_length=500, blank=True)
    docusign_created_at = models.DateTimeField(null=True, blank=True)
    docusign_retry_count = models.PositiveIntegerField(default=0)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    # Why it cannot be republished, or what the last republish answered.
    state_reason = models.CharField(max_length=500, blank=True)
    republish_count = models.PositiveIntegerField(default=0)
    # The bulk operation (common.BulkOperation) that last queued it: its page shows the events
    # coming back. A plain id, as common's items hold tenant ids.
    republish_operation_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    republished_at = models.DateTimeField(null=True, blank=True)
    recovered_at = models.DateTimeField(null=True, blank=True)
    recovered_event = models.ForeignKey(
        ConnectEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-first_seen_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "source", "source_id"], name="delivery_failure_once"
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "state"]),
            models.Index(fields=["envelope_id", "tenant"]),
            models.Index(fields=["state", "docusign_created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.envelope_id or '(no envelope)'} {self.envelope_status} ({self.state})"

    @property
    def event(self) -> str:
        return f"envelope-{self.envelope_status}" if self.envelope_status else ""

    @property
    def is_recovered(self) -> bool:
        return self.state == self.State.RECOVERED


class TenantRecovery(models.Model):
    """When the tenant's failure log was last copied, and its last completeness proof."""

    tenant = models.OneToOneField(
        Tenant, on_delete=models.CASCADE, primary_key=True, related_name="recovery"
    )
    failures_checked_at = models.DateTimeField(null=True, blank=True)
    # The newest `created` copied; the next read starts a little before it.
    failures_cursor = models.DateTimeField(null=True, blank=True)
    failures_error = models.CharField(max_length=300, blank=True)
    completeness_checked_at = models.DateTimeField(null=True, blank=True, db_index=True)
    completeness_days = models.PositiveSmallIntegerField(default=0)
    completeness_expected = models.PositiveIntegerField(default=0)
    completeness_received = models.PositiveIntegerField(default=0)
    # Null until a check succeeded; kept as a column so the dashboard can sort the fleet by it.
    completeness_percent = models.FloatField(null=True, blank=True, db_index=True)
    completeness_error = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return f"Recovery state of {self.tenant_id}"
