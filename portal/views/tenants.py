"""Staff pages to register, edit, invite, import, export, archive and offboard tenants."""

from django.contrib import messages
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.views import View

from accounts.roles import Perm
from common.csvexport import csv_rows
from common.services import audit_record
from portal.forms.tenants import (
    ExistingClientImportForm,
    TenantForm,
    TenantImportForm,
    TenantOffboardForm,
)
from portal.services.offboarding import OffboardIncomplete, tenant_offboard
from portal.views.mixins import FormPageView, StaffRequiredMixin, TenantActionView, TenantMixin
from tenants.models import Invite, Tenant
from tenants.selectors.tenants import (
    EXPORT_HEADER,
    tenant_consent_panel,
    tenant_export_rows,
    tenant_status_history,
)
from tenants.services.invites import invite_send
from tenants.services.system_user import SystemUserError, tenant_system_user_set
from tenants.services.tenant_import import tenant_import_existing_csv
from tenants.services.tenants import (
    TenantRuleError,
    tenant_archive,
    tenant_create,
    tenant_import_csv,
    tenant_unarchive,
    tenant_update,
)


class TenantCreateView(StaffRequiredMixin, FormPageView):
    template_name = "tenants/tenant_form.html"
    permission = Perm.MANAGE_TENANTS
    form_class = TenantForm

    def form_valid(self, form):
        request = self.request
        tenant = tenant_create(actor=request.user, request=request, **form.cleaned_data)
        messages.success(request, f"Tenant “{tenant.name}” was registered. Send the invite next.")
        return redirect("tenant-detail", tenant_id=tenant.pk)


class TenantEditView(TenantMixin, FormPageView):
    template_name = "tenants/tenant_form.html"
    permission = Perm.VIEW
    action_permission = Perm.MANAGE_TENANTS
    form_class = TenantForm

    def get_form_kwargs(self):
        # A copy to edit: a rejected form must not leave the cached tenant half-edited.
        tenant = Tenant.objects.get(pk=self.tenant.pk) if self.request.method == "POST" else None
        return {**super().get_form_kwargs(), "instance": tenant or self.tenant}

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            tenant=self.tenant,
            panel=tenant_consent_panel(tenant=self.tenant, viewer=self.request.user),
            history=tenant_status_history(tenant=self.tenant),
            can_edit=self.request.user.can(Perm.MANAGE_TENANTS),
            **kwargs,
        )

    def form_valid(self, form):
        request = self.request
        try:
            tenant_update(
                tenant=self.tenant, actor=request.user, request=request, **form.cleaned_data
            )
        except TenantRuleError as exc:
            return self.form_refused(form, str(exc))
        messages.success(request, f"Tenant “{form.cleaned_data['name']}” was saved.")
        return redirect("tenant-edit", tenant_id=self.tenant.pk)


class TenantArchiveView(TenantActionView):
    """GET: a confirmation page; POST: the archive (the tenant page then offers Restore)."""

    permission = Perm.MANAGE_TENANTS
    http_method_names = ["get", "post"]

    def get(self, request, *args, **kwargs):
        return render(request, "tenants/tenant_archive.html", {"tenant": self.tenant})

    def act(self, request):
        try:
            tenant_archive(tenant=self.tenant, actor=request.user, request=request)
        except TenantRuleError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                f"Tenant “{self.tenant.name}” was archived. If that was a mistake, Restore "
                "brings it back.",
            )


class TenantUnarchiveView(TenantActionView):
    permission = Perm.MANAGE_TENANTS

    def act(self, request):
        tenant_unarchive(tenant=self.tenant, actor=request.user, request=request)
        messages.success(
            request,
            f"Tenant “{self.tenant.name}” is back in the list. Its old invite links stay void: "
            "send a new invite.",
        )


class TenantInviteView(TenantActionView):
    permission = Perm.OPERATE

    def act(self, request):
        kind = request.POST.get("kind") or Invite.Kind.CONSENT
        if kind not in Invite.Kind.values:
            kind = Invite.Kind.CONSENT
        try:
            sent = invite_send(tenant=self.tenant, kind=kind, actor=request.user, request=request)
        except ValueError as exc:
            messages.error(request, str(exc))
        else:
            if sent.emailed:
                messages.success(
                    request,
                    f"A new invite was emailed to {self.tenant.admin_email}; older links no "
                    "longer work.",
                )
            else:
                messages.warning(
                    request,
                    "The invite was created but the email could not be sent; copy the link "
                    "from the tenant page instead.",
                )


class TenantSystemUserView(TenantActionView):
    """Staff name the user a JWT tenant impersonates; verified by DocuSign before it switches."""

    permission = Perm.OPERATE

    def act(self, request):
        try:
            account = tenant_system_user_set(
                tenant=self.tenant,
                user_id=request.POST.get("user_id", "")[:64],
                actor=request.user,
                request=request,
            )
        except SystemUserError as exc:
            messages.error(request, f"The system user was not changed. {exc.message}")
        else:
            messages.success(
                request,
                f"Verified: the portal now acts as {account.user_email or account.user_id}.",
            )


class TenantOffboardView(TenantMixin, FormPageView):
    template_name = "tenants/tenant_offboard.html"
    permission = Perm.MANAGE_TENANTS
    form_class = TenantOffboardForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "tenant": self.tenant}

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            tenant=self.tenant,
            panel=tenant_consent_panel(tenant=self.tenant, viewer=self.request.user),
            **kwargs,
        )

    def form_valid(self, form):
        request = self.request
        try:
            problems = tenant_offboard(
                tenant=self.tenant,
                actor=request.user,
                request=request,
                force=form.cleaned_data["force"],
            )
        except OffboardIncomplete as exc:
            form.add_error(
                None,
                "Removing our configuration from the client's DocuSign account failed, so the "
                f"tokens were kept to let you retry: {exc}",
            )
            return self.render_to_response(self.get_context_data(form=form), status=409)
        if problems:
            messages.warning(
                request, "Offboarded, but cleanup at DocuSign failed: " + "; ".join(problems)
            )
        else:
            messages.success(request, f"Tenant “{self.tenant.name}” was offboarded.")
        return redirect(self.tenant_url())


class TenantImportView(StaffRequiredMixin, FormPageView):
    template_name = "tenants/tenant_import.html"
    permission = Perm.MANAGE_TENANTS
    form_class = TenantImportForm

    def form_valid(self, form):
        request = self.request
        outcome = tenant_import_csv(
            data=form.cleaned_data["file"].read(),
            default_integration=form.cleaned_data["integration"],
            actor=request.user,
            request=request,
        )
        if not outcome.ok:
            return self.form_invalid(form, row_errors=outcome.errors)
        messages.success(
            request, f"Imported {len(outcome.created)} tenant{pluralize(len(outcome.created))}."
        )
        return redirect("tenant-import")


class ExistingClientImportView(StaffRequiredMixin, FormPageView):
    """Bring in clients whose grant the partner already holds; each row verified with DocuSign."""

    template_name = "tenants/existing_import.html"
    permission = Perm.MANAGE_TENANTS
    form_class = ExistingClientImportForm

    def form_valid(self, form):
        outcome = tenant_import_existing_csv(
            data=form.cleaned_data["file"].read(),
            default_integration=form.cleaned_data["integration"],
            actor=self.request.user,
            request=self.request,
        )
        context = self.get_context_data(
            form=form,
            outcome=outcome,
            imported=[
                (t.name, reverse("tenant-detail", kwargs={"tenant_id": t.pk}))
                for t in outcome.imported
            ],
        )
        return self.render_to_response(context, status=400 if outcome.errors else 200)


class TenantExportView(StaffRequiredMixin, View):
    permission = Perm.VIEW

    def get(self, request):
        audit_record(
            action="tenant.export", actor=request.user, message="Tenant CSV export", request=request
        )
        response = StreamingHttpResponse(
            csv_rows(EXPORT_HEADER, tenant_export_rows()), content_type="text/csv; charset=utf-8"
        )
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="tenants-{stamp}.csv"'
        return response
