from urllib.parse import urlsplit

from django.conf import settings
from django.db import models

from common.fields import EncryptedTextField
from common.models import TimeStampedModel


class Integration(TimeStampedModel):
    """The partner's integration key in one DocuSign environment (emulator, demo or production).

    Secrets are write-only: encrypted here, never rendered, never logged.
    """

    class Environment(models.TextChoices):
        EMULATOR = "emulator", "Local emulator"
        DEMO = "demo", "DocuSign demo (account-d)"
        PRODUCTION = "production", "DocuSign production"

    name = models.CharField(max_length=100, unique=True)
    environment = models.CharField(max_length=16, choices=Environment.choices)
    # https://account-d.docusign.com, https://account.docusign.com, or the emulator's URL.
    auth_base_url = models.URLField(max_length=200)
    integration_key = models.CharField(max_length=64, help_text="The integration key (client id).")
    secret_key = EncryptedTextField(blank=True)
    rsa_private_key = EncryptedTextField(blank=True)
    rsa_public_key = models.TextField(
        blank=True, help_text="Paste this into DocuSign's app settings."
    )
    redirect_uri = models.URLField(max_length=300)
    # The partner's own DocuSign account, where HMAC keys and OAuth-for-Connect live, and the
    # partner admin the portal impersonates (JWT) to manage them.
    partner_account_id = models.CharField(max_length=64, blank=True)
    partner_user_id = models.CharField(max_length=64, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def auth_host(self) -> str:
        """The bare host[:port] DocuSign expects as a JWT `aud`."""
        return urlsplit(self.auth_base_url).netloc

    @property
    def allowed_base_uri_hosts(self) -> list[str]:
        if self.environment == self.Environment.EMULATOR:
            # With the scheme: `base_uri_host_allowed` only accepts plain http for an entry that
            # names it, and the local emulator usually speaks http.
            return [f"{urlsplit(self.auth_base_url).scheme}://{self.auth_host}"]
        return list(settings.DOCUSIGN_ALLOWED_BASE_URI_HOSTS.get(self.environment, []))

    @property
    def has_secret_key(self) -> bool:
        return bool(self.secret_key)

    @property
    def has_rsa_private_key(self) -> bool:
        return bool(self.rsa_private_key)
