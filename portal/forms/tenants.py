import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import slugify

from portal.forms import formfield_assuming_https
from tenants.models import Integration, Tenant
from tenants.services.tenant_import import MAX_BYTES as EXISTING_IMPORT_MAX_BYTES
from tenants.services.tenants import IMPORT_MAX_BYTES, NOTES_MAX_LENGTH

SLUG_RULE = "Lower-case letters, digits and single hyphens (not at either end)."
SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


class TenantForm(forms.ModelForm):
    class Meta:
        model = Tenant
        formfield_callback = formfield_assuming_https
        fields = ["name", "slug", "admin_email", "integration", "grant_mode", "owner", "notes"]
        help_texts = {
            "slug": SLUG_RULE + " Unique; used in URLs and exports. Leave it empty to derive "
            "it from the name.",
            "grant_mode": "Authorization Code Grant keeps access with refresh tokens; JWT "
            "impersonation needs an RSA key on the integration.",
            "owner": "The staff member alerted when this tenant needs a human; empty = the staff "
            "alert list (STAFF_ALERT_EMAILS).",
        }
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["integration"].queryset = Integration.objects.filter(is_active=True)
        self.fields["integration"].empty_label = None
        self.fields["notes"].max_length = NOTES_MAX_LENGTH
        self.fields["slug"].required = False
        self.fields["slug"].error_messages["invalid"] = SLUG_RULE
        self.fields["owner"].empty_label = "Nobody: the staff alert list"

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        clash = Tenant.objects.filter(name__iexact=name, archived_at__isnull=True)
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        other = clash.first()
        if other is not None:
            raise ValidationError(
                f"Another tenant is already named “{other.name}” (slug {other.slug}). Use a name "
                "that tells them apart, such as the region or business unit."
            )
        return name

    def clean_slug(self):
        slug = self.cleaned_data.get("slug", "")
        if slug and not SLUG_PATTERN.fullmatch(slug):
            raise ValidationError(SLUG_RULE)
        if slug or self.instance.pk:
            return slug or self.instance.slug
        base = slugify(self.cleaned_data.get("name", ""))[:55] or "tenant"
        slug, n = base, 2
        while Tenant.objects.filter(slug=slug).exists():
            slug, n = f"{base}-{n}", n + 1
        return slug

    def clean(self):
        cleaned = super().clean()
        integration = cleaned.get("integration")
        if (
            cleaned.get("grant_mode") in (Tenant.GrantMode.JWT, Tenant.GrantMode.ORG_ADMIN)
            and integration
            and not integration.has_rsa_private_key
        ):
            self.add_error("grant_mode", "JWT needs an RSA private key on this integration.")
        return cleaned


class _CsvImportForm(forms.Form):
    """A CSV file of at most `max_bytes` with the `columns` each form names, and the integration
    of rows that name none."""

    max_bytes: int
    columns: str
    file = forms.FileField(label="CSV file")
    integration = forms.ModelChoiceField(
        queryset=Integration.objects.filter(is_active=True),
        empty_label=None,
        label="Default integration",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = self.columns

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > self.max_bytes:
            raise ValidationError(f"The file is larger than {self.max_bytes // 1024} KB.")
        return upload


class TenantImportForm(_CsvImportForm):
    max_bytes = IMPORT_MAX_BYTES
    columns = (
        "Columns: name, slug, admin_email, and optionally grant_mode (acg or jwt), integration "
        "(a name; default below), notes. All rows are imported, or none."
    )


class ExistingClientImportForm(_CsvImportForm):
    max_bytes = EXISTING_IMPORT_MAX_BYTES
    columns = (
        "Columns: name, slug, admin_email, grant_mode (acg, jwt or org_jwt), integration (a "
        "name; default below), account_id, refresh_token (acg), user_id (JWT)."
    )


class TenantOffboardForm(forms.Form):
    confirm_slug = forms.CharField(
        label="Type the tenant's slug to confirm",
        max_length=63,
    )
    force = forms.BooleanField(
        required=False,
        label="Forget the tokens even if removing our Connect configurations from the account "
        "fails",
    )

    def __init__(self, *args, tenant: Tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant

    def clean_confirm_slug(self):
        value = self.cleaned_data["confirm_slug"].strip()
        if value != self.tenant.slug:
            raise ValidationError("This does not match the tenant's slug.")
        return value


class InviteSendForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[("consent", "Consent"), ("reconsent", "Re-consent")], required=False
    )
