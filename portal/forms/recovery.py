"""Forms of the delivery-failure pages: which failures to show, and what to republish."""

from django import forms

from recovery.selectors import STATE_FILTERS


class FailureFilterForm(forms.Form):
    show = forms.ChoiceField(
        required=False, choices=[(key, label) for key, (label, _) in STATE_FILTERS.items()]
    )


class TenantRepublishForm(forms.Form):
    """Blank envelope id: every unrecovered failure of the tenant."""

    envelope_id = forms.CharField(required=False, max_length=64, strip=True)


class OutageRepublishForm(forms.Form):
    """Every unrecovered failure of the fleet that DocuSign recorded between two times (UTC)."""

    start = forms.DateTimeField(
        label="Outage start (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
    )
    end = forms.DateTimeField(
        label="Outage end (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start >= end:
            self.add_error("end", "The end must be after the start.")
        return data
