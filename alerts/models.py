"""Alerts: a tenant's stay in one "needs a human" category, from the moment it enters to the moment
it leaves, with the notices sent about it; and the mutes staff set."""

from django.db import models
from django.utils import timezone

from tenants.models import Tenant


class TenantAlert(models.Model):
    """One tenant in one category (`reason`, a key of tenants.selectors.attention.ATTENTION).
    Open while `resolved_at` is empty; at most one open per tenant and reason, which is what
    deduplicates the notices."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="alerts")
    reason = models.CharField(max_length=32)
    detail = models.CharField(max_length=500, blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # The "entered" and "resolved" notices, once each (claimed by setting these).
    notified_at = models.DateTimeField(null=True, blank=True)
    resolved_notified_at = models.DateTimeField(null=True, blank=True)
    # What went wrong sending a notice (a channel's error), for staff to see.
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "reason"],
                condition=models.Q(resolved_at__isnull=True),
                name="alert_open_once_per_tenant_reason",
            )
        ]
        indexes = [models.Index(fields=["resolved_at", "notified_at"])]

    def __str__(self) -> str:
        return f"{self.tenant_id}: {self.reason} ({'open' if self.is_open else 'resolved'})"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class AlertMute(models.Model):
    """No notices about this tenant and reason until `muted_until` (the page still shows it)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="alert_mutes")
    reason = models.CharField(max_length=32)
    muted_until = models.DateTimeField()
    created_by_label = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "reason"], name="alert_mute_once")]

    def __str__(self) -> str:
        return f"{self.tenant_id}: {self.reason} muted until {self.muted_until:%Y-%m-%d %H:%M}"


class AlertDigest(models.Model):
    """One row per day a digest went out: the daily digest task is safe to run twice."""

    day = models.DateField(unique=True)
    sent_at = models.DateTimeField(default=timezone.now)
    open_count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Digest {self.day}"
