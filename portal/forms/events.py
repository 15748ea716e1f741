"""Forms of the events pages. Secret fields never render a stored value (write-only)."""

from django import forms

from events.services.health import TEST_EVENTS
from tenants.models import Tenant


class EventFilterForm(forms.Form):
    tenant = forms.ModelChoiceField(
        required=False,
        queryset=Tenant.objects.filter(archived_at__isnull=True).only("name"),
        empty_label="Any tenant",
    )
    event = forms.CharField(required=False, max_length=64)
    envelope = forms.CharField(required=False, max_length=64, label="Envelope id")


class HmacKeyAddForm(forms.Form):
    label = forms.CharField(max_length=100, help_text="For example the date DocuSign created it.")
    secret = forms.CharField(
        label="HMAC key",
        max_length=500,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Admin → Connect → Connect Keys on the partner account; shown once there.",
    )


class HmacKeyDeactivateForm(forms.Form):
    key_id = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class ListenerSettingsForm(forms.Form):
    require_hmac = forms.BooleanField(
        required=False,
        label="Require a valid HMAC signature on every event",
        help_text="Turn off only when DocuSign authenticates with OAuth or Basic alone.",
    )
    basic_username = forms.CharField(required=False, max_length=100, label="Basic username")
    basic_password = forms.CharField(
        required=False,
        max_length=200,
        label="Basic password",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Leave blank to keep the stored password.",
    )
    basic_clear = forms.BooleanField(required=False, label="Remove the Basic credentials")
    oauth_enabled = forms.BooleanField(required=False, label="Accept OAuth Bearer tokens")
    oauth_client_id = forms.CharField(required=False, max_length=64, label="OAuth client id")
    oauth_client_secret = forms.CharField(
        required=False,
        max_length=200,
        min_length=24,
        label="OAuth client secret",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="At least 24 characters. Leave blank to keep the stored secret.",
    )
    oauth_token_ttl_s = forms.IntegerField(
        min_value=60, max_value=3600, initial=900, label="Token lifetime (seconds)"
    )


class TestEventForm(forms.Form):
    event = forms.ChoiceField(choices=[(e, e) for e in TEST_EVENTS], initial=TEST_EVENTS[0])
