from django.conf import settings
from django.db import models
from django.utils import timezone

from common.models import TimeStampedModel
from tenants.models.integration import Integration


class Tenant(TimeStampedModel):
    """A client account the partner serves. Small on purpose: consent, tokens and Connect state
    live in their own models."""

    class Status(models.TextChoices):
        REGISTERED = "registered", "Registered"
        INVITED = "invited", "Invited"
        CONSENTED = "consented", "Consented"
        ACTIVE = "active", "Active"
        NEEDS_RECONSENT = "needs_reconsent", "Needs re-consent"
        ERROR = "error", "Error"
        SUSPENDED = "suspended", "Suspended"
        OFFBOARDED = "offboarded", "Offboarded"

    class GrantMode(models.TextChoices):
        AUTHORIZATION_CODE = "acg", "Authorization Code Grant (refresh tokens)"
        JWT = "jwt", "JWT impersonation"
        ORG_ADMIN = "org_jwt", "Organization admin consent (JWT)"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=63, unique=True)
    admin_email = models.EmailField(help_text="The client's DocuSign admin, who receives invites.")
    integration = models.ForeignKey(Integration, on_delete=models.PROTECT, related_name="tenants")
    grant_mode = models.CharField(
        max_length=8, choices=GrantMode.choices, default=GrantMode.AUTHORIZATION_CODE
    )
    notes = models.TextField(blank=True, max_length=5000)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.REGISTERED, db_index=True
    )
    status_reason = models.CharField(max_length=300, blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The staff member who hears first when the tenant needs a human (else STAFF_ALERT_EMAILS).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_tenants",
        limit_choices_to={"is_active": True},
    )

    class Meta:
        ordering = ["name"]
        # (name, id): the lists' default order, so a page is an index walk, not a sort of all.
        indexes = [models.Index(fields=["status", "name"]), models.Index(fields=["name", "id"])]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def uses_jwt(self) -> bool:
        """Tokens come from JWT impersonation (no refresh token), after either kind of consent."""
        return self.grant_mode in (self.GrantMode.JWT, self.GrantMode.ORG_ADMIN)


class TenantStatusChange(models.Model):
    """The history of a tenant's status, with the reason for each move."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=20, choices=Tenant.Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=Tenant.Status.choices)
    reason = models.CharField(max_length=300, blank=True)
    actor_label = models.CharField(max_length=150)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-changed_at"])]

    def __str__(self) -> str:
        return f"{self.tenant_id}: {self.from_status} → {self.to_status}"


class TenantAccount(TimeStampedModel):
    """The DocuSign account a tenant's admin linked through consent, the user the portal acts as,
    and who granted the consent (an individual user, or an organization admin for every user of
    the organization's claimed domains)."""

    class ConsentLevel(models.TextChoices):
        INDIVIDUAL = "individual", "individual"
        ORGANIZATION = "organization", "organization"
        IMPORTED = "imported", "imported (existing grant)"

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="account")
    # One DocuSign account belongs to one tenant: Connect events are routed by this id.
    account_id = models.CharField(max_length=64, unique=True)
    account_name = models.CharField(max_length=200, blank=True)
    base_uri = models.URLField(max_length=300)
    # The user the portal acts as (sub): the consenting user, or for JWT the designated system user.
    user_id = models.CharField(max_length=64, help_text="The DocuSign user the portal acts as.")
    user_email = models.EmailField(blank=True)
    user_name = models.CharField(max_length=200, blank=True)
    consent_level = models.CharField(
        max_length=16, choices=ConsentLevel.choices, default=ConsentLevel.INDIVIDUAL
    )
    # Who granted the consent; empty when DocuSign did not tell (imports, some admin grants).
    granted_by_user_id = models.CharField(max_length=64, blank=True)
    granted_by_email = models.EmailField(blank=True)
    granted_by_name = models.CharField(max_length=200, blank=True)
    scopes = models.CharField(max_length=200, blank=True)
    consented_at = models.DateTimeField()
    # JWT tenants: the last proof that impersonation works for this user.
    jwt_verified_at = models.DateTimeField(null=True, blank=True)
    jwt_last_error = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return f"{self.account_name or self.account_id}"
