"""Connect pages: templates (list, create, edit, preview, assignment), partner OAuth for Connect,
bulk push/resync, and the tenant page's "sync now"."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views import View
from django.views.generic import FormView, TemplateView

from accounts.roles import Perm
from common.bulk import bulk_operation_start
from connect.models import ConnectTemplate
from connect.selectors.desired import connect_template_preview
from connect.selectors.fleet import connect_tenant_ids_for_bulk
from connect.selectors.templates import (
    connect_integrations,
    connect_partner_oauth_get,
    connect_template_current_settings,
    connect_template_get,
    connect_template_list,
    connect_template_tenants,
)
from connect.services.partner_oauth import (
    partner_oauth_check,
    partner_oauth_delete,
    partner_oauth_push,
    partner_oauth_store,
)
from connect.services.sync import connect_sync_request
from connect.services.templates import (
    config_name,
    connect_assignment_set,
    connect_override_set,
    connect_template_create,
    connect_template_update,
)
from portal.forms.connect import (
    AssignmentForm,
    ConnectBulkForm,
    ConnectTemplateForm,
    OverrideForm,
    PartnerOAuthForm,
)
from portal.views.mixins import StaffRequiredMixin, TenantActionView
from tenants.models import Tenant


class TemplateMixin:
    """Loads the template named in the URL once."""

    def dispatch(self, request, *args, **kwargs):
        try:
            self.template = connect_template_get(template_id=kwargs["template_id"])
        except ConnectTemplate.DoesNotExist:
            raise Http404("No such Connect template.") from None
        return super().dispatch(request, *args, **kwargs)


class ConnectTemplateListView(StaffRequiredMixin, TemplateView):
    template_name = "connect/template_list.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            templates=connect_template_list(), bulk_form=ConnectBulkForm(), **kwargs
        )


class ConnectTemplateCreateView(StaffRequiredMixin, FormView):
    permission = Perm.MANAGE_CONNECT
    template_name = "connect/template_form.html"
    form_class = ConnectTemplateForm

    def get_initial(self):
        # This portal's own listener and the everyday envelope events: what most templates use.
        return {
            "url_to_publish_to": f"{settings.PORTAL_PUBLIC_URL}{reverse('connect-hook')}",
            "events": "envelope-sent, envelope-delivered, envelope-completed",
        }

    def form_valid(self, form):
        data = form.cleaned_data
        template = connect_template_create(
            actor=self.request.user,
            name=data["name"],
            slug=data["slug"],
            integration=data["integration"],
            policy=data["policy"],
            applies_to=data["applies_to"],
            settings=form.settings(),
            basic_auth_password=data["basic_auth_password"],
            request=self.request,
        )
        messages.success(
            self.request,
            "Template saved as version 1. Tenants receive it at their next sync, or now with "
            "“Push to its tenants now”.",
        )
        return redirect("connect-template-edit", template_id=template.pk)


class ConnectTemplateEditView(StaffRequiredMixin, TemplateMixin, FormView):
    """Support may look; saving needs MANAGE_CONNECT."""

    action_permission = Perm.MANAGE_CONNECT
    template_name = "connect/template_form.html"
    form_class = ConnectTemplateForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "template": self.template}

    def get_initial(self):
        settings = connect_template_current_settings(template=self.template)
        return ConnectTemplateForm.initial_from(self.template, settings)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            template=self.template, config_name=config_name(self.template.slug), **kwargs
        )

    def form_valid(self, form):
        data = form.cleaned_data
        version = connect_template_update(
            template=self.template,
            actor=self.request.user,
            name=data["name"],
            policy=data["policy"],
            applies_to=data["applies_to"],
            is_active=data["is_active"],
            settings=form.settings(),
            basic_auth_password=data["basic_auth_password"],
            request=self.request,
        )
        messages.success(self.request, f"Saved as version {version.number}.")
        return redirect("connect-template-edit", template_id=self.template.pk)


class ConnectTemplatePreviewView(StaffRequiredMixin, TemplateMixin, TemplateView):
    template_name = "connect/template_preview.html"

    def get_context_data(self, **kwargs):
        tenants = Tenant.objects.filter(
            integration_id=self.template.integration_id, archived_at__isnull=True
        ).order_by("name")
        tenant = None
        tenant_id = self.request.GET.get("tenant", "")
        if tenant_id:
            if not tenant_id.isdigit():
                raise Http404("No such tenant.")
            tenant = get_object_or_404(tenants.select_related("account"), pk=int(tenant_id))
        return super().get_context_data(
            template=self.template,
            tenants=tenants,
            chosen=tenant,
            preview=connect_template_preview(template=self.template, tenant=tenant),
            **kwargs,
        )


class ConnectTemplateAssignView(StaffRequiredMixin, TemplateMixin, TemplateView):
    """Which tenants a "chosen" template applies to, and per-tenant overrides for any template."""

    action_permission = Perm.MANAGE_CONNECT
    template_name = "connect/template_assign.html"

    def get_context_data(self, assign_form=None, override_form=None, **kwargs):
        rows = connect_template_tenants(template=self.template)
        return super().get_context_data(
            template=self.template,
            rows=rows,
            assign_form=assign_form
            or AssignmentForm(
                template=self.template,
                initial={"tenants": [r["tenant"].pk for r in rows if r["chosen"]]},
            ),
            override_form=override_form or OverrideForm(template=self.template),
            **kwargs,
        )

    def post(self, request, template_id: int):
        if request.POST.get("action") == "override":
            form = OverrideForm(request.POST, template=self.template)
            if not form.is_valid():
                return self.render_to_response(
                    self.get_context_data(override_form=form), status=400
                )
            connect_override_set(
                template=self.template,
                tenant=form.cleaned_data["tenant"],
                url_to_publish_to=form.cleaned_data["url_to_publish_to"],
                events=form.cleaned_data["events"],
                actor=request.user,
                request=request,
            )
            messages.success(request, f"Overrides saved for {form.cleaned_data['tenant']}.")
        else:
            form = AssignmentForm(request.POST, template=self.template)
            if not form.is_valid():
                return self.render_to_response(self.get_context_data(assign_form=form), status=400)
            connect_assignment_set(
                template=self.template,
                tenant_ids=[t.pk for t in form.cleaned_data["tenants"]],
                actor=request.user,
                request=request,
            )
            messages.success(request, "Assignment saved.")
        return redirect("connect-template-assign", template_id=self.template.pk)


class ConnectBulkView(StaffRequiredMixin, View):
    """Push or resync many tenants; the progress page is the fleet's bulk page."""

    permission = Perm.OPERATE
    action_permission = Perm.OPERATE
    http_method_names = ["post"]

    def post(self, request):
        form = ConnectBulkForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Choose push or resync, and which tenants.")
            return redirect("connect-template-list")
        tenants = connect_tenant_ids_for_bulk(template=form.cleaned_data["template"])
        operation = bulk_operation_start(
            kind=form.cleaned_data["kind"], tenants=tenants, actor=request.user, request=request
        )
        messages.success(
            request,
            f"Started for {operation.total} tenant{'s' if operation.total != 1 else ''}.",
        )
        return redirect("bulk-detail", operation_id=operation.pk)


class PartnerOAuthView(StaffRequiredMixin, TemplateView):
    """OAuth for Connect on the partner's own account: settings, push, check, delete."""

    action_permission = Perm.MANAGE_CONNECT
    template_name = "connect/partner_oauth.html"

    def dispatch(self, request, *args, **kwargs):
        self.integrations = list(connect_integrations())
        wanted = request.GET.get("integration") or request.POST.get("integration") or ""
        self.integration = None
        if wanted.isdigit():
            self.integration = next((i for i in self.integrations if i.pk == int(wanted)), None)
        elif len(self.integrations) == 1:
            self.integration = self.integrations[0]
        self.row = (
            connect_partner_oauth_get(integration=self.integration) if self.integration else None
        )
        return super().dispatch(request, *args, **kwargs)

    def _form(self, data=None):
        if self.integration is None:
            return None
        initial = {}
        if self.row is not None:
            initial = {
                "authorization_server_url": self.row.authorization_server_url,
                "client_id": self.row.client_id,
                "scope": self.row.scope,
                "custom_parameters": PartnerOAuthForm.text_from(self.row.custom_parameters),
            }
        return PartnerOAuthForm(
            data,
            initial=initial,
            integration=self.integration,
            has_secret=bool(self.row and self.row.has_client_secret),
        )

    def get_context_data(self, form=None, remote=None, **kwargs):
        return super().get_context_data(
            integrations=self.integrations,
            integration=self.integration,
            row=self.row,
            form=form or self._form(),
            remote=remote,
            **kwargs,
        )

    def post(self, request):
        if self.integration is None:
            messages.error(request, "Choose an integration first.")
            return redirect("connect-partner-oauth")
        action = request.POST.get("action", "save")
        if action in ("check", "delete") and self.row is None:
            messages.error(request, "Save settings for this integration first.")
            return self._back()
        if action == "check":
            remote = partner_oauth_check(row=self.row, actor=request.user)
            return self.render_to_response(self.get_context_data(remote=remote or {}))
        if action == "delete":
            partner_oauth_delete(row=self.row, actor=request.user)
            self._report(self.row)
            return self._back()
        form = self._form(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        data = form.cleaned_data
        row = partner_oauth_store(
            integration=self.integration,
            actor=request.user,
            request=request,
            authorization_server_url=data["authorization_server_url"],
            client_id=data["client_id"],
            client_secret=data["client_secret"],
            scope=data["scope"],
            custom_parameters=data["custom_parameters"],
        )
        partner_oauth_push(row=row, actor=request.user)
        self._report(row)
        return self._back()

    def _report(self, row):
        if row.state == row.State.FAILED:
            messages.error(self.request, row.last_result)
        else:
            messages.success(self.request, row.last_result)

    def _back(self):
        return redirect(f"{reverse('connect-partner-oauth')}?integration={self.integration.pk}")


class TenantConnectSyncView(TenantActionView):
    """ "Sync now" on the tenant page."""

    permission = Perm.OPERATE

    def act(self, request):
        connect_sync_request(tenant=self.tenant, actor=request.user, request=request)
        messages.success(request, "A Connect sync is on its way; its result shows in the history.")
