"""Connect events received from DocuSign, the listener credentials that authenticate them, and each
tenant's delivery health.

Secrets (partner HMAC keys, Basic password, OAuth client secret and token-signing secret) are
encrypted at rest and never rendered: the pages only say whether they are set.
"""

from django.db import models
from django.utils import timezone

from common.fields import EncryptedTextField
from common.models import TimeStampedModel
from tenants.models import Integration, Tenant


class ListenerSettings(TimeStampedModel):
    """How the Connect listener of one integration authenticates DocuSign (API.md 3).

    HMAC keys are separate rows (`PartnerHmacKey`) so several can be active while one rotates.
    """

    integration = models.OneToOneField(
        Integration, on_delete=models.CASCADE, primary_key=True, related_name="connect_listener"
    )
    # With this on, an event must carry a valid HMAC signature whatever else it carries; turn it
    # off only for an OAuth- or Basic-only setup.
    require_hmac = models.BooleanField(default=True)
    basic_username = models.CharField(max_length=100, blank=True)
    basic_password = EncryptedTextField(blank=True)
    # OAuth for Connect with the portal as the authorization server: DocuSign gets a short-lived
    # HS256 JWT from `connect-oauth-token` with these client credentials and sends it as Bearer.
    oauth_enabled = models.BooleanField(default=False)
    oauth_client_id = models.CharField(max_length=64, blank=True)
    oauth_client_secret = EncryptedTextField(blank=True)
    # Signs and verifies the JWTs; generated here and never leaves the portal.
    oauth_signing_secret = EncryptedTextField(blank=True)
    oauth_token_ttl_s = models.PositiveIntegerField(default=900)

    def __str__(self) -> str:
        return f"Connect listener of {self.integration_id}"

    @property
    def has_basic(self) -> bool:
        return bool(self.basic_username and self.basic_password)

    @property
    def has_oauth(self) -> bool:
        return bool(
            self.oauth_enabled
            and self.oauth_client_id
            and self.oauth_client_secret
            and self.oauth_signing_secret
        )


class PartnerHmacKey(models.Model):
    """One of the partner account's Connect HMAC secrets (DocuSign shows each only once)."""

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="connect_hmac_keys"
    )
    label = models.CharField(max_length=100)
    secret = EncryptedTextField()
    created_at = models.DateTimeField(default=timezone.now)
    created_by_label = models.CharField(max_length=150)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    deactivated_by_label = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["integration", "-created_at", "-id"]
        indexes = [models.Index(fields=["integration", "deactivated_at"])]

    def __str__(self) -> str:
        return f"{self.label} ({'active' if self.is_active else 'inactive'})"

    @property
    def is_active(self) -> bool:
        return self.deactivated_at is None


class ConnectEvent(models.Model):
    """One verified Connect message, stored once however often DocuSign delivers it."""

    class AuthMethod(models.TextChoices):
        HMAC = "hmac", "HMAC signature"
        BEARER = "bearer", "OAuth Bearer token"
        BASIC = "basic", "Basic credentials"

    # No index of its own: (tenant, -received_at) below serves every lookup by tenant. Each index
    # costs every stored event an insert, on the receiver's hottest path.
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="connect_events", db_index=False
    )
    account_id = models.CharField(max_length=64)
    # A JSON number in the payload, the connectId string in the REST API (API.md 3.4).
    configuration_id = models.CharField(max_length=32)
    event = models.CharField(max_length=64)
    envelope_id = models.CharField(max_length=64, blank=True)
    recipient_id = models.CharField(max_length=64, blank=True)
    # Kept exactly as sent (seven fractional digits) because it is part of the identity.
    generated_date_time = models.CharField(max_length=40)
    generated_at = models.DateTimeField(null=True, blank=True)
    retry_count = models.PositiveIntegerField(default=0)
    payload = models.JSONField()
    body_bytes = models.PositiveIntegerField(default=0)
    auth_method = models.CharField(max_length=8, choices=AuthMethod.choices)
    received_at = models.DateTimeField(default=timezone.now)
    # Set by `connect_event_process`; a sweep picks up rows whose task was never enqueued.
    processed_at = models.DateTimeField(null=True, blank=True)
    # The envelope a staff member asked the emulator to publish with "send test event".
    is_test = models.BooleanField(default=False)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            # Redeliveries (retryCount > 0) and concurrent duplicates carry the same identity.
            # envelope_id leads so that this index also serves the lookups by envelope.
            models.UniqueConstraint(
                fields=[
                    "envelope_id",
                    "account_id",
                    "configuration_id",
                    "event",
                    "recipient_id",
                    "generated_date_time",
                ],
                name="connect_event_once",
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "-received_at"]),
            models.Index(fields=["event", "-received_at"]),
            models.Index(fields=["processed_at", "received_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.envelope_id} ({self.account_id})"


class TenantEventHealth(models.Model):
    """The delivery health of one tenant: what the panel and the dashboard read in one query."""

    tenant = models.OneToOneField(
        Tenant, on_delete=models.CASCADE, primary_key=True, related_name="event_health"
    )
    last_event_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_event_id = models.BigIntegerField(null=True, blank=True)
    events_total = models.PositiveIntegerField(default=0)
    # The last "send test event": the envelope id asked for and when its event arrived.
    test_envelope_id = models.CharField(max_length=64, blank=True)
    test_event = models.CharField(max_length=64, blank=True)
    test_requested_at = models.DateTimeField(null=True, blank=True)
    test_arrived_at = models.DateTimeField(null=True, blank=True)
    test_arrival_ms = models.PositiveIntegerField(null=True, blank=True)
    test_error = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return f"Event health of {self.tenant_id}"


class TenantEventDay(models.Model):
    """Events stored per tenant per UTC day (the 14-day chart)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="event_days")
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["tenant", "-day"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "day"], name="event_day_once_per_tenant")
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.day}: {self.count}"
