"""Delivery failures: a tenant's tab (list, republish one envelope or all), the fleet page with the
"republish the outage window" form, and the tenant's "check now" actions."""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from accounts.roles import Perm
from portal.forms.recovery import FailureFilterForm, OutageRepublishForm, TenantRepublishForm
from portal.views.mixins import FormPageView, StaffRequiredMixin, TenantActionView, TenantMixin
from recovery.selectors import (
    STATE_FILTERS,
    delivery_failure_rows,
    delivery_failures_fleet_rows,
    recovery_dashboard_summary,
    recovery_tenant_panel,
)
from recovery.services.republish import RepublishError, delivery_failures_republish
from recovery.tasks import completeness_check, delivery_failures_copy


def _bulk_page(operation) -> str:
    return reverse("bulk-detail", kwargs={"operation_id": operation.pk})


class TenantDeliveryFailuresView(TenantMixin, TemplateView):
    template_name = "recovery/tenant_failures.html"
    permission = Perm.VIEW

    def get_context_data(self, **kwargs):
        form = FailureFilterForm(self.request.GET or None)
        show = form.cleaned_data.get("show") if form.is_valid() else ""
        show = show or "unrecovered"
        return super().get_context_data(
            tenant=self.tenant,
            panel=recovery_tenant_panel(tenant=self.tenant),
            rows=delivery_failure_rows(tenant=self.tenant, show=show),
            show=show,
            filters=[(key, label) for key, (label, _) in STATE_FILTERS.items()],
            **kwargs,
        )


class TenantRepublishView(TenantMixin, View):
    permission = Perm.OPERATE
    action_permission = Perm.OPERATE
    http_method_names = ["post"]

    def post(self, request, tenant_id):
        form = TenantRepublishForm(request.POST)
        back = reverse("tenant-delivery-failures", kwargs={"tenant_id": self.tenant.pk})
        if not form.is_valid():
            messages.error(request, "The envelope id is too long.")
            return redirect(back)
        try:
            operation = delivery_failures_republish(
                actor=request.user,
                tenant=self.tenant,
                envelope_id=form.cleaned_data["envelope_id"] or None,
                request=request,
            )
        except RepublishError as exc:
            messages.error(request, str(exc))
            return redirect(back)
        messages.success(request, "Republish started; the progress is below.")
        return redirect(_bulk_page(operation))


class TenantRecoveryCheckView(TenantActionView):
    """Copy the failure log and prove completeness now, instead of waiting for the schedule."""

    permission = Perm.OPERATE
    action_permission = Perm.OPERATE

    def act(self, request):
        delivery_failures_copy.delay(self.tenant.pk)
        completeness_check.delay(self.tenant.pk)
        messages.success(
            request, "Reading DocuSign's failure log and status changes now (within the budget)."
        )

    def tenant_url(self) -> str:
        return reverse("tenant-delivery-failures", kwargs={"tenant_id": self.tenant.pk})


class FleetDeliveryFailuresView(StaffRequiredMixin, FormPageView):
    """Tenants with unrecovered failures, the fleet's completeness, and the outage button."""

    template_name = "recovery/fleet_failures.html"
    permission = Perm.VIEW
    action_permission = Perm.OPERATE
    form_class = OutageRepublishForm

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            summary=recovery_dashboard_summary(worst=10),
            tenants=delivery_failures_fleet_rows(),
            **kwargs,
        )

    def form_valid(self, form):
        try:
            operation = delivery_failures_republish(
                actor=self.request.user,
                start=form.cleaned_data["start"],
                end=form.cleaned_data["end"],
                request=self.request,
            )
        except RepublishError as exc:
            return self.form_refused(form, str(exc))
        messages.success(self.request, "Republishing the outage window; the progress is below.")
        return redirect(_bulk_page(operation))
