from django.conf import settings
from django.db import models
from django.utils import timezone


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("The audit log is append-only.")

    def delete(self):
        raise PermissionError("The audit log is append-only.")


class AuditEvent(models.Model):
    """One thing that happened, who did it, to what, and how it ended. Append-only.

    Written only through `common.services.audit_record`, which strips anything secret.
    """

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        FAILURE = "failure", "Failure"
        DENIED = "denied", "Denied"

    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept as text so the trail still reads right after a user is deleted, and for non-staff
    # actors: "scheduler", "client-admin", "docusign".
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=32, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS)
    message = models.CharField(max_length=500, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["target_type", "target_id", "-occurred_at"]),
            models.Index(fields=["actor_label", "-occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The audit log is append-only.")


class WorkerHeartbeat(models.Model):
    """The last time each Celery worker ran the periodic heartbeat: proof the pipeline is alive."""

    hostname = models.CharField(max_length=200, unique=True)
    last_seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.hostname


class BulkOperation(models.Model):
    """A staff action over many tenants (re-consent invites, push, resync), run one task per tenant.

    Counters are updated atomically by each item as it finishes: the progress bar is one query.
    """

    class Kind(models.TextChoices):
        # The value stays for history; each tenant gets the invite it needs (consent, or
        # re-consent when it already linked an account).
        RECONSENT_INVITE = "reconsent_invite", "Send invites (consent or re-consent, as needed)"
        CONNECT_PUSH = "connect_push", "Push Connect configuration"
        CONNECT_RESYNC = "connect_resync", "Resync Connect configuration"
        CONNECT_REPUBLISH = "connect_republish", "Republish failed Connect deliveries"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    total = models.PositiveIntegerField(default=0)
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.done}/{self.total})"

    @property
    def done(self) -> int:
        return self.succeeded + self.failed + self.skipped

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(100 * self.done / self.total)


class BulkOperationItem(models.Model):
    class Outcome(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    operation = models.ForeignKey(BulkOperation, on_delete=models.CASCADE, related_name="items")
    # A plain id, not a foreign key: common knows nothing of tenants.
    tenant_id = models.BigIntegerField()
    tenant_label = models.CharField(max_length=200)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.PENDING)
    message = models.CharField(max_length=500, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # While pending: until when its task may take (WORK_LEASE_S, renewed when it starts or waits to
    # retry); the bulk sweep re-enqueues a pending item whose lease ran out.
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["operation", "tenant_id"], name="bulk_item_once_per_tenant"
            )
        ]

    def __str__(self) -> str:
        return f"{self.tenant_label}: {self.outcome}"
