from django import forms

from common.bulk import bulk_kinds_registered
from common.models import BulkOperation
from tenants.selectors.attention import ANY_ATTENTION, ATTENTION_CHOICES
from tenants.selectors.fleet import (
    HEALTH_FILTER_CHOICES,
    SORT_CHOICES,
    STATUS_FILTER_CHOICES,
    integration_filter_choices,
)

FILTER_FIELDS = ("q", "status", "integration", "health", "attention", "sort")


class TenantFilterForm(forms.Form):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Name, slug, admin email or account id"}
        ),
    )
    status = forms.ChoiceField(
        label="State", required=False, choices=[("", "Any state"), *STATUS_FILTER_CHOICES]
    )
    integration = forms.TypedChoiceField(
        label="Integration", required=False, coerce=int, empty_value=None
    )
    health = forms.ChoiceField(
        label="Connect health", required=False, choices=[("", "Any"), *HEALTH_FILTER_CHOICES]
    )
    attention = forms.ChoiceField(
        label="Needs a human",
        required=False,
        choices=[("", "—"), (ANY_ATTENTION, "Any reason"), *ATTENTION_CHOICES],
    )
    sort = forms.ChoiceField(label="Sort by", required=False, choices=SORT_CHOICES)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["integration"].choices = [
            ("", "Any integration"),
            *integration_filter_choices(),
        ]

    def filters(self) -> dict:
        """The selector's keyword arguments; an invalid field is ignored, never fatal."""
        data = self.cleaned_data if self.is_bound and hasattr(self, "cleaned_data") else {}
        return {
            "q": data.get("q") or "",
            "status": data.get("status") or "",
            "integration_id": data.get("integration"),
            "health": data.get("health") or "",
            "attention": data.get("attention") or "",
            "sort": data.get("sort") or "name",
        }


def bulk_kind_choices() -> list[tuple[str, str]]:
    registered = set(bulk_kinds_registered())
    return [(value, label) for value, label in BulkOperation.Kind.choices if value in registered]


class BulkStartForm(TenantFilterForm):
    """Which action, on which tenants: the ticked ones, or every tenant matching the filter (the
    filter's fields travel along in the same form)."""

    kind = forms.ChoiceField(label="Action")
    tenant_ids = forms.Field(required=False, widget=forms.MultipleHiddenInput)
    all_matching = forms.BooleanField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = bulk_kind_choices()

    def clean_tenant_ids(self) -> list[int]:
        raw = self.data.getlist("tenant_ids") if hasattr(self.data, "getlist") else []
        try:
            ids = sorted({int(value) for value in raw})
        except (TypeError, ValueError):
            raise forms.ValidationError("The ticked tenants were not understood.") from None
        if len(ids) > 10_000:
            raise forms.ValidationError("Tick at most 10,000 tenants, or use the filter instead.")
        return ids

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("all_matching") and not cleaned.get("tenant_ids"):
            raise forms.ValidationError(
                "Tick at least one tenant, or choose “all tenants matching the filter”."
            )
        return cleaned
