"""Forms of the Connect pages: templates, assignments and overrides, partner OAuth, bulk actions."""

import re

from django import forms
from django.conf import settings as django_settings

from connect.models import ConnectTemplate
from connect.mtls import mtls_client_ca_problem
from connect.services.templates import CONFIG_NAME_PREFIX, config_name
from connect.validation import (
    DELIVERY_MODES,
    INCLUDE_DATA,
    MAX_CONFIG_NAME,
    PLACEHOLDERS,
    SAMPLE_VALUES,
    SIM_EVENTS,
    publish_url_errors,
    unknown_placeholders,
    url_fill,
)
from tenants.models import Integration, Tenant

_SPLIT = re.compile(r"[\s,]+")
PLACEHOLDER_HELP = "Placeholders: " + ", ".join("{" + p + "}" for p in PLACEHOLDERS) + "."


def events_parse(text: str) -> tuple[list[str], list[str]]:
    """(events, unknown names) from text separated by commas, spaces or new lines."""
    names = [n for n in _SPLIT.split(text.strip()) if n]
    unique = list(dict.fromkeys(names))
    return unique, [n for n in unique if n not in SIM_EVENTS]


def url_template_errors(url_template: str, *, integration: Integration | None) -> list[str]:
    unknown = unknown_placeholders(url_template)
    if unknown:
        return [f"Unknown placeholder {{{unknown[0]}}}. {PLACEHOLDER_HELP}"]
    allow_local = bool(integration and integration.environment == Integration.Environment.EMULATOR)
    return publish_url_errors(url_fill(url_template, SAMPLE_VALUES), allow_local=allow_local)


class EventsField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 3})

    def clean(self, value):
        value = super().clean(value)
        events, unknown = events_parse(value or "")
        if unknown:
            raise forms.ValidationError(
                f"Unknown event{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}. "
                "Use DocuSign's JSON SIM names, such as envelope-completed."
            )
        return events


class ConnectTemplateForm(forms.Form):
    name = forms.CharField(max_length=100)
    slug = forms.SlugField(
        max_length=50,
        help_text=f"Letters, digits, hyphens or underscores. Names the configuration on DocuSign "
        f"“{CONFIG_NAME_PREFIX} your-slug”; fixed once saved.",
        error_messages={
            "invalid": "Use only letters, digits, hyphens or underscores (no spaces): the slug "
            f"names the configuration on DocuSign “{CONFIG_NAME_PREFIX} your-slug”."
        },
    )
    integration = forms.ModelChoiceField(queryset=Integration.objects.filter(is_active=True))
    policy = forms.ChoiceField(choices=ConnectTemplate.Policy.choices)
    applies_to = forms.ChoiceField(choices=ConnectTemplate.AppliesTo.choices, label="Applies to")
    is_active = forms.BooleanField(required=False, initial=True, label="Active")
    url_to_publish_to = forms.CharField(
        max_length=4096,
        label="Listener URL (urlToPublishTo)",
        help_text="Where DocuSign posts events: this portal's listener is "
        "<code>/hooks/docusign/connect/</code> under its public address. https, no credentials, "
        "no private hosts; a Local emulator integration also accepts http and this machine "
        "(127.0.0.1, localhost). " + PLACEHOLDER_HELP,
    )
    delivery_mode = forms.ChoiceField(
        choices=[(m, m) for m in DELIVERY_MODES],
        initial="SIM",
        help_text="SIM sends one JSON message per event (eventData version restv2.1).",
    )
    events = EventsField(
        required=False, help_text="JSON SIM event names, separated by commas or new lines."
    )
    include_data = forms.MultipleChoiceField(
        choices=[(d, d) for d in INCLUDE_DATA],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Include data (eventData.includeData)",
    )
    requires_acknowledgement = forms.BooleanField(required=False, initial=True)
    enable_log = forms.BooleanField(required=False, initial=True)
    all_users = forms.BooleanField(
        required=False,
        initial=True,
        help_text="Without it DocuSign needs a list of user ids, which templates do not manage.",
    )
    allow_envelope_publish = forms.BooleanField(required=False, initial=True)
    include_hmac = forms.BooleanField(required=False, initial=True, label="Include HMAC")
    include_oauth = forms.BooleanField(required=False, label="Include OAuth")
    basic_auth_user = forms.CharField(
        max_length=100,
        required=False,
        label="Basic authentication user name",
        help_text="DocuSign sends it with the password in an Authorization: Basic header on "
        "every delivery. Empty: no Basic authentication.",
    )
    basic_auth_password = forms.CharField(
        max_length=200,
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        label="Basic authentication password",
        help_text="Write-only: stored encrypted, never shown again. Leave empty to keep the "
        "current one; a new one is pushed to every tenant at its next sync.",
    )
    require_mutual_tls = forms.BooleanField(
        required=False,
        label="Require mutual TLS (requireMutualTls)",
        help_text="DocuSign presents its client certificate; the TLS proxy in front of the "
        "listener must verify it (README, Connect: mutual TLS).",
    )

    def __init__(self, *args, template: ConnectTemplate | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.template = template
        if template is not None:
            # Fixed once created: the slug names the configuration on every account.
            for name in ("slug", "integration"):
                self.fields[name].disabled = True
                self.fields[name].required = False
        else:
            del self.fields["is_active"]

    def clean_slug(self):
        if self.template is not None:
            return self.template.slug
        slug = self.cleaned_data["slug"]
        if len(config_name(slug)) > MAX_CONFIG_NAME:
            raise forms.ValidationError(
                f"The configuration name would exceed {MAX_CONFIG_NAME} characters."
            )
        if ConnectTemplate.objects.filter(slug=slug).exists():
            raise forms.ValidationError("Another template already uses this slug.")
        return slug

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        clash = ConnectTemplate.objects.filter(name=name)
        if self.template is not None:
            clash = clash.exclude(pk=self.template.pk)
        if clash.exists():
            raise forms.ValidationError("Another template already has this name.")
        return name

    def clean_integration(self):
        if self.template is not None:
            return self.template.integration
        return self.cleaned_data["integration"]

    def clean(self):
        data = super().clean()
        integration = data.get("integration")
        url = data.get("url_to_publish_to")
        if url:
            for error in url_template_errors(url, integration=integration):
                self.add_error("url_to_publish_to", error)
        mode, events = data.get("delivery_mode"), data.get("events")
        if mode == "SIM" and events is not None and not events:
            self.add_error("events", "SIM delivery needs at least one event.")
        if mode == "Aggregate" and events:
            self.add_error("events", "Event names only work with SIM delivery (API.md 2.2).")
        has_password = bool(self.template is not None and self.template.basic_auth_password)
        user = data.get("basic_auth_user", "").strip()
        if user and not data.get("basic_auth_password") and not has_password:
            self.add_error(
                "basic_auth_password",
                "Enter the password: DocuSign sends the user name and password together. "
                "Or clear the user name to turn Basic authentication off.",
            )
        if data.get("require_mutual_tls"):
            problem = mtls_client_ca_problem(django_settings.CONNECT_MTLS_CLIENT_CA)
            if problem is not None:
                self.add_error("require_mutual_tls", problem)
        return data

    def settings(self) -> dict:
        data = self.cleaned_data
        return {
            "url_to_publish_to": data["url_to_publish_to"],
            "events": data["events"] if data["delivery_mode"] == "SIM" else [],
            "include_data": list(data["include_data"]),
            "delivery_mode": data["delivery_mode"],
            "requires_acknowledgement": data["requires_acknowledgement"],
            "enable_log": data["enable_log"],
            "all_users": data["all_users"],
            "allow_envelope_publish": data["allow_envelope_publish"],
            "include_hmac": data["include_hmac"],
            "include_oauth": data["include_oauth"],
            "basic_auth_user": data["basic_auth_user"].strip(),
            "require_mutual_tls": data["require_mutual_tls"],
        }

    @staticmethod
    def initial_from(template: ConnectTemplate, settings: dict) -> dict:
        return {
            **settings,
            "events": ", ".join(settings.get("events", [])),
            "name": template.name,
            "slug": template.slug,
            "integration": template.integration_id,
            "policy": template.policy,
            "applies_to": template.applies_to,
            "is_active": template.is_active,
        }


class AssignmentForm(forms.Form):
    tenants = forms.ModelMultipleChoiceField(
        queryset=Tenant.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, template: ConnectTemplate, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tenants"].queryset = Tenant.objects.filter(
            integration_id=template.integration_id, archived_at__isnull=True
        ).order_by("name")


class OverrideForm(forms.Form):
    tenant = forms.ModelChoiceField(queryset=Tenant.objects.none())
    url_to_publish_to = forms.CharField(
        max_length=4096,
        required=False,
        label="Listener URL override",
        help_text="Empty: use the template's. " + PLACEHOLDER_HELP,
    )
    events = EventsField(
        required=False, label="Events override", help_text="Empty: use the template's."
    )

    def __init__(self, *args, template: ConnectTemplate, **kwargs):
        super().__init__(*args, **kwargs)
        self.template = template
        self.fields["tenant"].queryset = Tenant.objects.filter(
            integration_id=template.integration_id, archived_at__isnull=True
        )

    def clean_url_to_publish_to(self):
        url = self.cleaned_data["url_to_publish_to"].strip()
        if url:
            errors = url_template_errors(url, integration=self.template.integration)
            if errors:
                raise forms.ValidationError(errors)
        return url


class PartnerOAuthForm(forms.Form):
    authorization_server_url = forms.URLField(
        max_length=500,
        assume_scheme="https",
        label="Token URL (authorizationServerUrl)",
        help_text="The authorization server's token endpoint; DocuSign runs client credentials.",
    )
    client_id = forms.CharField(max_length=200)
    client_secret = forms.CharField(
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only. Leave empty to keep the stored secret.",
    )
    scope = forms.CharField(max_length=500, required=False)
    custom_parameters = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One key=value per line, such as audience=listener.",
    )

    def __init__(self, *args, integration: Integration, has_secret: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.integration = integration
        self.has_secret = has_secret

    def clean_authorization_server_url(self):
        url = self.cleaned_data["authorization_server_url"]
        allow_local = self.integration.environment == Integration.Environment.EMULATOR
        errors = publish_url_errors(url, allow_local=allow_local)
        if errors:
            raise forms.ValidationError(errors)
        return url

    def clean_client_secret(self):
        secret = self.cleaned_data["client_secret"]
        if not secret and not self.has_secret:
            raise forms.ValidationError("Enter the client secret (none is stored yet).")
        return secret

    def clean_custom_parameters(self):
        params = {}
        for number, line in enumerate(self.cleaned_data["custom_parameters"].splitlines(), 1):
            if not line.strip():
                continue
            key, sep, value = line.partition("=")
            if not sep or not key.strip():
                raise forms.ValidationError(f"Line {number} is not key=value.")
            params[key.strip()] = value.strip()
        return params

    @staticmethod
    def text_from(params: dict) -> str:
        return "\n".join(f"{k}={v}" for k, v in params.items())


class ConnectBulkForm(forms.Form):
    KIND_CHOICES = [
        ("connect_push", "Push (repair everything)"),
        ("connect_resync", "Resync (each template's policy)"),
    ]
    kind = forms.ChoiceField(choices=KIND_CHOICES)
    template = forms.ModelChoiceField(
        queryset=ConnectTemplate.objects.all(),
        required=False,
        empty_label="Every served tenant",
        label="Tenants of",
    )
