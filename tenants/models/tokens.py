from django.db import models

from common.fields import EncryptedTextField
from tenants.models.tenant import Tenant


class TenantToken(models.Model):
    """The tenant's current DocuSign tokens (encrypted) and the state of their upkeep.

    The row is also the refresh lock: `tenants.services.tokens` takes it with SELECT ... FOR UPDATE
    so one refresh runs at a time per tenant across every process.
    """

    tenant = models.OneToOneField(
        Tenant, on_delete=models.CASCADE, primary_key=True, related_name="token"
    )
    access_token = EncryptedTextField(blank=True)
    access_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    refresh_token = EncryptedTextField(blank=True)
    # Without the `extended` scope this never moves; with it, each refresh renews it.
    refresh_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    # Bumped on every successful refresh: a cheap way for a waiter to see a sibling rotated.
    generation = models.PositiveIntegerField(default=0)
    failure_count = models.PositiveIntegerField(default=0)
    last_error_code = models.CharField(max_length=64, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    lapse_reminder_sent_at = models.DateTimeField(null=True, blank=True)
    # Set when a refresh is enqueued: until then beat does not enqueue it again; after it, the
    # refresh counts as lost (WORK_LEASE_S). A stored refresh clears it.
    refresh_lease_expires_at = models.DateTimeField(null=True, blank=True)
    # A refresh call about to be sent, committed before it is (SHA-256 of the refresh token it
    # sends, never the token): a stored answer clears it. Still set when DocuSign then refuses
    # that same token, it means an earlier call was cut off after DocuSign had rotated it.
    refresh_attempt_digest = models.CharField(max_length=64, blank=True)
    refresh_attempt_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Tokens of tenant {self.tenant_id}"
