"""Forms of the forwarding pages: a destination, and a tenant's events to send again."""

import re

from django import forms

from common.outbound import OutboundRefused, outbound_url_check
from portal.forms.connect import events_parse
from tenants.models import Tenant

_SPLIT = re.compile(r"[\s,]+")


def _words(text: str) -> list[str]:
    return [word for word in _SPLIT.split(text or "") if word]


class DestinationForm(forms.Form):
    name = forms.CharField(max_length=100)
    url = forms.CharField(
        label="URL",
        max_length=500,
        help_text="Your application's endpoint, https://… . Events are POSTed there as JSON.",
    )
    event_types = forms.CharField(
        label="Event types",
        required=False,
        help_text="For example envelope-completed, recipient-completed. Empty: every event.",
    )
    tenants = forms.CharField(
        label="Tenants (slugs)",
        required=False,
        help_text="Only these tenants' events, separated by commas. Empty: every tenant.",
    )
    max_in_flight = forms.IntegerField(
        label="Deliveries at once",
        min_value=1,
        max_value=32,
        initial=4,
        help_text=(
            "At most this many requests to this URL at the same time. Allow at least the events "
            "per second it receives times its answer time in seconds, and room for bursts (100 "
            "events/s answered in 50 ms: at least 5; 16 leaves room)."
        ),
    )

    def __init__(self, *args, integration, **kwargs):
        self.integration = integration
        super().__init__(*args, **kwargs)

    def clean_url(self) -> str:
        url = self.cleaned_data["url"].strip()
        try:
            outbound_url_check(url)
        except OutboundRefused as exc:
            raise forms.ValidationError(str(exc)) from None
        return url

    def clean_event_types(self) -> list[str]:
        types, unknown = events_parse(self.cleaned_data["event_types"] or "")
        if unknown:
            raise forms.ValidationError(
                f"Unknown event{'s' if len(unknown) > 1 else ''}: {', '.join(unknown[:5])}. "
                "Use DocuSign's event names, such as envelope-completed."
            )
        return types

    def clean_tenants(self) -> list[int]:
        slugs = _words(self.cleaned_data["tenants"])
        found = dict(
            Tenant.objects.filter(integration=self.integration, slug__in=slugs).values_list(
                "slug", "pk"
            )
        )
        missing = [slug for slug in slugs if slug not in found]
        if missing:
            raise forms.ValidationError(
                f"No tenant of this integration has the slug: {', '.join(missing[:5])}."
            )
        return [found[slug] for slug in slugs]


class TenantReplayForm(forms.Form):
    tenant = forms.CharField(label="Tenant (slug)", max_length=100)
    since = forms.DateTimeField(
        label="Received from (UTC)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    until = forms.DateTimeField(
        label="Received before (UTC)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def __init__(self, *args, integration, **kwargs):
        self.integration = integration
        super().__init__(*args, **kwargs)

    def clean_tenant(self) -> Tenant:
        tenant = Tenant.objects.filter(
            integration=self.integration, slug=self.cleaned_data["tenant"].strip()
        ).first()
        if tenant is None:
            raise forms.ValidationError("No tenant of this integration has that slug.")
        return tenant

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            self.add_error("until", "The end of the range must be after its start.")
        return data
