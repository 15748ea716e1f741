"""Connect configuration templates, their assignment to tenants, and each tenant's sync state.

The desired state of a tenant is computed from templates (a new immutable version per save) and
per-tenant overrides; DocuSign holds the actual state. `TenantConnectState` is the one current row
per tenant, `SyncRecord` the history, `SyncDailyStat` the rollup the dashboard reads.
"""

from django.db import models
from django.utils import timezone

from common.fields import EncryptedTextField
from common.models import TimeStampedModel
from tenants.models import Integration, Tenant


class ConnectTemplate(TimeStampedModel):
    """A named Connect configuration the portal keeps on every tenant it applies to.

    The settings live in `ConnectTemplateVersion`; `current_version` points at the newest one.
    """

    class Policy(models.TextChoices):
        REPAIR = "repair", "Repair drift"
        REPORT = "report", "Report drift only"

    class AppliesTo(models.TextChoices):
        ALL = "all", "All tenants of the integration"
        CHOSEN = "chosen", "Chosen tenants only"

    name = models.CharField(max_length=100, unique=True)
    # Part of the configuration name on DocuSign ("PartnerPortal: <slug>"), so it never changes.
    slug = models.SlugField(max_length=50, unique=True)
    integration = models.ForeignKey(
        Integration, on_delete=models.PROTECT, related_name="connect_templates"
    )
    policy = models.CharField(max_length=8, choices=Policy.choices, default=Policy.REPAIR)
    applies_to = models.CharField(max_length=8, choices=AppliesTo.choices, default=AppliesTo.ALL)
    is_active = models.BooleanField(default=True)
    current_version = models.PositiveIntegerField(default=0)
    # The Basic password DocuSign sends with each delivery (the user name is in the version's
    # settings); write-only. DocuSign never returns it, so each change bumps `basic_auth_rev` in
    # the settings and the sync re-pushes it.
    basic_auth_password = EncryptedTextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ConnectTemplateVersion(models.Model):
    """One saved state of a template; never edited, so tenants can say which version they carry."""

    template = models.ForeignKey(ConnectTemplate, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    # The managed settings (see connect.services.templates.SETTINGS_KEYS); never a secret.
    settings = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    created_by_label = models.CharField(max_length=150)

    class Meta:
        ordering = ["template", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="connect_version_once")
        ]

    def __str__(self) -> str:
        return f"{self.template} v{self.number}"


class ConnectAssignment(models.Model):
    """A tenant's link to a template: membership for "chosen" templates, and overrides (a
    different URL or event list) for either kind."""

    template = models.ForeignKey(
        ConnectTemplate, on_delete=models.CASCADE, related_name="assignments"
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="connect_assignments")
    # Only "url_to_publish_to" and "events" may be overridden.
    overrides = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["template", "tenant"]
        constraints = [
            models.UniqueConstraint(fields=["template", "tenant"], name="connect_assignment_once")
        ]

    def __str__(self) -> str:
        return f"{self.template} → {self.tenant_id}"


class TenantConnectState(models.Model):
    """The current Connect state of one tenant (one row per tenant): what the panel and the due-work
    query read, without touching the history."""

    class Status(models.TextChoices):
        NEVER = "never", "Never synced"
        IN_SYNC = "in_sync", "In sync"
        DRIFT = "drift", "Drift (reported)"
        REPAIRED = "repaired", "Repaired"
        FAILING = "failing", "Failing"
        SKIPPED = "skipped", "Skipped"

    tenant = models.OneToOneField(
        Tenant, on_delete=models.CASCADE, primary_key=True, related_name="connect_state"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEVER)
    last_sync_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_outcome = models.CharField(max_length=12, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    # {template slug: version number} and {template slug: connectId} carried on DocuSign.
    versions = models.JSONField(default=dict, blank=True)
    connect_ids = models.JSONField(default=dict, blank=True)
    # Set when a sync task is enqueued, so beat does not enqueue the same tenant twice; the lease
    # says until when it may take (WORK_LEASE_S, renewed when it starts or waits to retry): after
    # it, the sync counts as lost and the next beat tick enqueues it again. An ending clears both.
    queued_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # DocuSign's own hourly count for the account (X-RateLimit-*), as the last sync saw it. It
    # covers the client's other apps too, which is why staff are warned when it runs low.
    rate_limit_limit = models.PositiveIntegerField(null=True, blank=True)
    rate_limit_remaining = models.PositiveIntegerField(null=True, blank=True)
    rate_limit_reset_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Connect state of {self.tenant_id}: {self.status}"


class SyncRecord(models.Model):
    """One reconcile of one tenant: what was found, what changed, how it ended."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Scheduled"
        MANUAL = "manual", "Sync now"
        BULK_PUSH = "bulk_push", "Bulk push"
        BULK_RESYNC = "bulk_resync", "Bulk resync"
        OFFBOARD = "offboard", "Offboarding"

    class Outcome(models.TextChoices):
        IN_SYNC = "in_sync", "In sync"
        CHANGED = "changed", "Created or repaired"
        DRIFT = "drift", "Drift reported"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="connect_syncs")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(default=timezone.now)
    trigger = models.CharField(max_length=12, choices=Trigger.choices)
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    # [{"connect_id", "name", "ours"}] as listed on the account.
    found = models.JSONField(default=list, blank=True)
    # [{"template", "action", "connect_id", "fields": [{"field", "desired", "actual"}], "error"}]
    changes = models.JSONField(default=list, blank=True)
    api_calls = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-finished_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-finished_at"])]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.trigger}: {self.outcome}"


class SyncDailyStat(models.Model):
    """How many syncs ended each way each day: one row per day and outcome, upserted by every
    sync as the last statement of its transaction (so the row is locked only until the commit)."""

    date = models.DateField()
    outcome = models.CharField(max_length=12, choices=SyncRecord.Outcome.choices)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-date", "outcome"]
        constraints = [
            models.UniqueConstraint(fields=["date", "outcome"], name="connect_daily_stat_once")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.outcome}: {self.count}"


class ApiBudgetWindow(models.Model):
    """The database fallback of the shared DocuSign call budget (Redis counters otherwise)."""

    account_id = models.CharField(max_length=64)
    window = models.CharField(max_length=8)  # "hour" or "burst"
    window_start = models.BigIntegerField()  # epoch seconds
    used = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account_id", "window", "window_start"], name="connect_budget_window_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.window}@{self.window_start}: {self.used}"


class PartnerConnectOAuth(TimeStampedModel):
    """OAuth for Connect on the partner's own account (`/connect/oauth`), one per integration.

    The client secret is write-only: encrypted here, never rendered. DocuSign is the source of
    truth; `state` and `last_result` say what the last call to it found.
    """

    class State(models.TextChoices):
        NOT_PUSHED = "not_pushed", "Not pushed yet"
        ACTIVE = "active", "Active on DocuSign"
        ABSENT = "absent", "Not configured on DocuSign"
        FAILED = "failed", "Last call failed"

    integration = models.OneToOneField(
        Integration, on_delete=models.CASCADE, related_name="connect_oauth"
    )
    authorization_server_url = models.URLField(max_length=500)
    client_id = models.CharField(max_length=200)
    client_secret = EncryptedTextField(blank=True)
    scope = models.CharField(max_length=500, blank=True)
    custom_parameters = models.JSONField(default=dict, blank=True)
    # The partner account's REST base URI, from userinfo (it rarely changes; API.md 1.7).
    partner_base_uri = models.URLField(max_length=300, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.NOT_PUSHED)
    last_result = models.CharField(max_length=500, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"OAuth for Connect of {self.integration}"

    @property
    def has_client_secret(self) -> bool:
        return bool(self.client_secret)
