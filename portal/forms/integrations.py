from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from portal.forms import formfield_assuming_https
from tenants.models import Integration
from tenants.services.integrations import INTEGRATION_FIELDS

_PEM_BEGINS = ("-----BEGIN PRIVATE KEY-----", "-----BEGIN RSA PRIVATE KEY-----")


class IntegrationForm(forms.ModelForm):
    """Secrets are write-only: their inputs start empty and leaving them empty keeps the value."""

    secret_key = forms.CharField(
        required=False,
        strip=True,
        max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Write-only. Leave empty to keep the stored secret.",
    )
    rsa_private_key = forms.CharField(
        required=False,
        strip=True,
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off", "spellcheck": "false"}),
        label="RSA private key (PEM)",
        help_text="Write-only. Paste a PEM private key, leave empty to keep the stored one, or "
        "use “Generate a key pair”.",
    )

    class Meta:
        model = Integration
        formfield_callback = formfield_assuming_https
        # The non-secret fields the service saves; the secrets are the write-only fields above.
        fields = list(INTEGRATION_FIELDS)
        help_texts = {
            "auth_base_url": "https://account-d.docusign.com (demo), https://account.docusign.com "
            "(production), or the emulator's address.",
            "redirect_uri": "Must be registered on the integration key exactly as written here.",
            "partner_user_id": "The partner admin the portal impersonates (JWT) for partner-level "
            "Connect settings.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["auth_base_url"].validators = [URLValidator(schemes=["http", "https"])]
        if self.instance.pk:
            self.fields["secret_key"].help_text = (
                f"Write-only ({'set' if self.instance.has_secret_key else 'not set'}). "
                "Leave empty to keep it."
            )
            self.fields["rsa_private_key"].help_text = (
                f"Write-only ({'set' if self.instance.has_rsa_private_key else 'not set'}). "
                "Leave empty to keep it, or use “Generate a key pair”."
            )

    def clean_rsa_private_key(self):
        pem = self.cleaned_data["rsa_private_key"]
        if not pem:
            return pem
        if not pem.startswith(_PEM_BEGINS):
            raise ValidationError(
                "Paste a PEM private key (it starts with -----BEGIN …PRIVATE KEY-----)."
            )
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        try:
            key = load_pem_private_key(pem.encode(), password=None)
        except (ValueError, TypeError):
            raise ValidationError(
                "This private key cannot be read (is it encrypted or cut short?)."
            ) from None
        if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 2048:
            raise ValidationError("DocuSign needs an RSA key of at least 2048 bits.")
        return pem

    def clean_auth_base_url(self):
        url = self.cleaned_data["auth_base_url"].rstrip("/")
        if url.count("/") > 2:
            raise ValidationError("Give only scheme://host[:port], without a path.")
        return url

    def clean(self):
        cleaned = super().clean()
        env = cleaned.get("environment")
        url = cleaned.get("auth_base_url", "")
        remote = env in (Integration.Environment.DEMO, Integration.Environment.PRODUCTION)
        if remote and url and not url.startswith("https://"):
            self.add_error("auth_base_url", "DocuSign's account servers are reached over https.")
        if not self.instance.pk and not cleaned.get("secret_key"):
            self.add_error(
                "secret_key", "The secret key is needed for consent (Authorization Code Grant)."
            )
        return cleaned
