from django.db import models
from django.utils import timezone

from common.fields import EncryptedTextField
from tenants.models.tenant import Tenant


class Invite(models.Model):
    """A consent invitation for one tenant. Issuing a new one supersedes every older one."""

    class Kind(models.TextChoices):
        CONSENT = "consent", "Consent"
        RECONSENT = "reconsent", "Re-consent"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="invites")
    # Random, single-tenant; the link carries it inside a Django-signed token.
    nonce = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.CONSENT)
    sent_to = models.EmailField(blank=True)
    created_by_label = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)
    # The last consent attempt through this invite failed: when, and ConsentError's code.
    failed_at = models.DateTimeField(null=True, blank=True)
    failure_code = models.CharField(max_length=64, blank=True)
    # When the link was re-sent automatically (ISO datetimes, oldest first; at most two).
    nudges = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"])]

    def __str__(self) -> str:
        return f"Invite for {self.tenant_id} ({self.kind})"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.superseded_at is None and self.completed_at is None and self.expires_at > now


class ConsentAttempt(models.Model):
    """One trip to DocuSign's consent page: the OAuth `state` and PKCE verifier, kept server-side.

    Bound to the tenant, the invite and the browser session; single-use (claimed atomically by the
    callback); expires after CONSENT_STATE_TTL_S. When the admin has several accounts, the tokens
    wait here (encrypted) until the admin picks one.
    """

    class Outcome(models.TextChoices):
        PENDING = "pending", "Pending"
        CHOOSING_ACCOUNT = "choosing_account", "Choosing an account"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    # SHA-256 of the state value: the raw state only ever lives in the browser's URL.
    state_hash = models.CharField(max_length=64, unique=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="consent_attempts")
    invite = models.ForeignKey(Invite, on_delete=models.CASCADE, related_name="consent_attempts")
    session_key_hash = models.CharField(max_length=64)
    code_verifier = EncryptedTextField()
    scopes = models.CharField(max_length=200)
    # JWT tenants: the DocuSign user id the client admin named as the system user, if any.
    system_user_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.PENDING)
    error_code = models.CharField(max_length=64, blank=True)
    # Account choice step (no secrets in the JSON: ids, names and base URIs only).
    account_choices = models.JSONField(default=list, blank=True)
    userinfo = models.JSONField(default=dict, blank=True)
    pending_access_token = EncryptedTextField(blank=True)
    pending_refresh_token = EncryptedTextField(blank=True)
    pending_access_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Consent attempt for {self.tenant_id} ({self.outcome})"
