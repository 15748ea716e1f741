"""Staff pages for the partner's integration keys (one per DocuSign environment)."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.utils.functional import cached_property
from django.views import View
from django.views.generic import TemplateView

from accounts.roles import Perm
from connect.selectors.templates import connect_template_auth_list
from events.webhook_auth import integration_webhook_auth
from forwarding.selectors import destination_health_list
from portal.forms.integrations import IntegrationForm
from portal.views.mixins import FormPageView, StaffRequiredMixin
from tenants.models import Integration
from tenants.selectors.tenants import integration_list
from tenants.services.integrations import integration_keypair_generate, integration_save


class IntegrationListView(StaffRequiredMixin, TemplateView):
    template_name = "tenants/integration_list.html"
    permission = Perm.VIEW

    def get_context_data(self, **kwargs):
        return super().get_context_data(integrations=integration_list(), **kwargs)


class IntegrationCreateView(StaffRequiredMixin, FormPageView):
    template_name = "tenants/integration_form.html"
    permission = Perm.MANAGE_INTEGRATIONS
    form_class = IntegrationForm

    def form_valid(self, form):
        request = self.request
        integration = integration_save(actor=request.user, request=request, **form.cleaned_data)
        messages.success(request, f"Integration “{integration.name}” was created.")
        return redirect("integration-edit", integration_id=integration.pk)


class IntegrationMixin(StaffRequiredMixin):
    permission = Perm.MANAGE_INTEGRATIONS

    @cached_property
    def integration(self) -> Integration:
        return get_object_or_404(Integration, pk=self.kwargs["integration_id"])


class IntegrationEditView(IntegrationMixin, FormPageView):
    template_name = "tenants/integration_form.html"
    form_class = IntegrationForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "instance": self.integration}

    def get_context_data(self, **kwargs):
        auth = integration_webhook_auth(
            integration=self.integration,
            templates=connect_template_auth_list(integration=self.integration),
        )
        return super().get_context_data(
            integration=self.integration,
            auth=auth,
            health=destination_health_list(integration_id=self.integration.pk),
            **kwargs,
        )

    def form_valid(self, form):
        request = self.request
        integration_save(
            integration=self.integration, actor=request.user, request=request, **form.cleaned_data
        )
        messages.success(request, f"Integration “{self.integration.name}” was saved.")
        return redirect("integration-edit", integration_id=self.integration.pk)


class IntegrationGenerateKeyView(IntegrationMixin, View):
    def post(self, request, integration_id):
        integration_keypair_generate(
            integration=self.integration, actor=request.user, request=request
        )
        messages.success(
            request,
            "A new RSA key pair was generated. Add the public key below to the integration key "
            "in DocuSign (Apps and Keys → Service Integration); until then JWT fails.",
        )
        return redirect("integration-edit", integration_id=self.integration.pk)
