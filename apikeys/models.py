"""The partner's API keys, the answers kept for idempotent retries, and the database fallback of
the per-key rate limit.

A key belongs to the partner, not to the staff member who created it: it carries scopes, never a
role, and outlives its creator. Only a SHA-256 hash of the secret is stored (the secret is 256
random bits, so a fast hash is enough); the prefix is shown so staff can tell keys apart.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from common.fields import EncryptedTextField
from common.models import TimeStampedModel


class Scope(models.TextChoices):
    TENANTS_READ = "tenants:read", "Read tenants, their status and the integrations"
    TENANTS_WRITE = "tenants:write", "Create, edit, archive and offboard tenants"
    INVITES_WRITE = "invites:write", "Create invites and read their links"
    CONNECT_READ = "connect:read", "Read Connect templates and assignments"
    CONNECT_WRITE = "connect:write", "Assign templates and trigger a tenant's sync"
    EVENTS_READ = "events:read", "Read Connect events"
    FORWARDING_READ = "forwarding:read", "Read forwarding destinations, deliveries and attempts"
    FORWARDING_WRITE = (
        "forwarding:write",
        ("Manage forwarding destinations and their secrets, pause, resume and replay"),
    )
    BULK_WRITE = "bulk:write", "Start bulk operations and read their progress"


class ApiKey(TimeStampedModel):
    name = models.CharField(max_length=100)
    # The visible part of the key ("ppk_<prefix>_…"): how staff and logs name it.
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_by_label = models.CharField(max_length=150)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by_label = models.CharField(max_length=150, blank=True)
    # The last audited use of this key after revocation (audited at most once a minute).
    refused_audited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} (ppk_{self.prefix})"

    @property
    def label(self) -> str:
        """Who did it, in the audit log and status history: the key, never its secret."""
        return f"api-key:{self.prefix}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class IdempotentRequest(models.Model):
    """The first answer to a POST sent with an Idempotency-Key, replayed for 24 hours.

    The row is written before the work starts (the unique constraint makes a concurrent retry
    wait and then find it), and the answer is filled in when the work is done.
    """

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # SHA-256 of the method, path with query and body: the same key with another request is refused.
    fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    # JSON, encrypted: an answer may hold an invite link, which lets its holder link an account.
    response_body = EncryptedTextField(blank=True)
    response_headers = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="idempotent_request_once")
        ]

    def __str__(self) -> str:
        return f"{self.api_key_id}:{self.key[:40]}"


class ApiRateWindow(models.Model):
    """The database fallback of the per-key rate limit (Redis counters otherwise)."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    window_start = models.BigIntegerField()  # epoch seconds
    used = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "window_start"], name="api_rate_window_once")
        ]

    def __str__(self) -> str:
        return f"{self.api_key_id}@{self.window_start}: {self.used}"
