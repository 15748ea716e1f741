"""The Connect listener (public, JSON), its OAuth token endpoint, the event browser, the partner's
listener credentials page, and the tenant's "send test event" action."""

import base64
import binascii
import logging

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import DatabaseError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import TemplateView

from accounts.roles import Perm
from connect.selectors.templates import connect_template_auth_list
from events.errors import EventsError
from events.selectors import (
    connect_event_detail,
    connect_event_list,
    connect_event_names,
    events_tenant_panel,
    integration_listener_page,
)
from events.services.health import TEST_EVENTS, tenant_test_event_send
from events.services.listener import (
    hmac_key_add,
    hmac_key_deactivate,
    listener_settings_update,
    listener_signing_secret_rotate,
    listener_token_issue,
)
from events.services.webhook_check import webhook_auth_check
from events.webhook_auth import integration_webhook_auth
from portal.forms.events import (
    EventFilterForm,
    HmacKeyAddForm,
    HmacKeyDeactivateForm,
    ListenerSettingsForm,
    TestEventForm,
)
from portal.views.connect_hook import JsonPostOnlyView, json_error
from portal.views.mixins import StaffRequiredMixin, TenantActionView, TenantMixin
from tenants.models import Integration, Tenant

logger = logging.getLogger(__name__)


@method_decorator(csrf_exempt, name="dispatch")
class ConnectOAuthTokenView(JsonPostOnlyView):
    """client_credentials for OAuth for Connect: DocuSign authenticates with the client id and
    secret stored on the integration's listener page (Basic header or form body, RFC 6749 2.3)."""

    def post(self, request):
        if request.POST.get("grant_type") != "client_credentials":
            return json_error("unsupported_grant_type", 400)
        client_id, client_secret = _client_credentials(request)
        try:
            token = listener_token_issue(client_id=client_id, client_secret=client_secret)
        except EventsError:
            return json_error("invalid_client", 401, **{"WWW-Authenticate": "Basic"})
        except DatabaseError:
            return json_error("temporarily_unavailable", 503)
        response = JsonResponse(
            {
                "access_token": token.access_token,
                "token_type": "Bearer",
                "expires_in": token.expires_in,
            }
        )
        response["Cache-Control"] = "no-store"
        return response


def _client_credentials(request) -> tuple[str, str]:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic" and encoded:
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return "", ""
        client_id, _, client_secret = decoded.partition(":")
        return client_id, client_secret
    return request.POST.get("client_id", ""), request.POST.get("client_secret", "")


# --- the event browser ------------------------------------------------------------------------


class EventListView(StaffRequiredMixin, TemplateView):
    template_name = "events/event_list.html"
    permission = Perm.VIEW

    def get_context_data(self, **kwargs):
        form = EventFilterForm(self.request.GET or None)
        filters = {}
        if form.is_valid():
            data = form.cleaned_data
            filters = {
                "tenant_id": data["tenant"].pk if data["tenant"] else None,
                "event": data["event"],
                "envelope_id": data["envelope"],
            }
        page = Paginator(connect_event_list(**filters), 50).get_page(self.request.GET.get("page"))
        query = self.request.GET.copy()
        query.pop("page", None)
        return super().get_context_data(
            form=form,
            page=page,
            event_names=connect_event_names(),
            query=query.urlencode(),
            **kwargs,
        )


class EventDetailView(StaffRequiredMixin, TemplateView):
    template_name = "events/event_detail.html"
    permission = Perm.VIEW

    def get_context_data(self, **kwargs):
        detail = connect_event_detail(event_id=self.kwargs["event_id"])
        if detail is None:
            raise Http404("No such event.")
        return super().get_context_data(**detail, **kwargs)


# --- the integration's listener credentials --------------------------------------------------


class IntegrationHmacKeysView(StaffRequiredMixin, View):
    template_name = "events/integration_hmac_keys.html"
    permission = Perm.MANAGE_INTEGRATIONS
    action_permission = Perm.MANAGE_INTEGRATIONS

    def dispatch(self, request, *args, **kwargs):
        self.integration = get_object_or_404(Integration, pk=kwargs["integration_id"])
        return super().dispatch(request, *args, **kwargs)

    def _render(self, request, *, status=200, check=None, **forms):
        page = integration_listener_page(integration=self.integration)
        forms.setdefault("add_form", HmacKeyAddForm())
        forms.setdefault(
            "settings_form",
            ListenerSettingsForm(
                initial={
                    "require_hmac": page["require_hmac"],
                    "basic_username": page["basic_username"],
                    "oauth_enabled": page["oauth_enabled"],
                    "oauth_client_id": page["oauth_client_id"],
                    "oauth_token_ttl_s": page["oauth_token_ttl_s"],
                }
            ),
        )
        auth = integration_webhook_auth(
            integration=self.integration,
            templates=connect_template_auth_list(integration=self.integration),
        )
        context = {**page, **forms, "auth": auth, "check": check}
        return render(request, self.template_name, context, status=status)

    def get(self, request, integration_id):
        return self._render(request)

    def _check(self, request):
        result = webhook_auth_check(
            integration=self.integration, actor=request.user, request=request
        )
        return self._render(request, check=result)

    def post(self, request, integration_id):
        action = request.POST.get("action")
        handlers = {
            "add_key": self._add_key,
            "deactivate_key": self._deactivate_key,
            "settings": self._settings,
            "rotate_signing_secret": self._rotate,
            "check": self._check,
        }
        handler = handlers.get(action)
        if handler is None:
            messages.error(request, "Unknown action.")
            return redirect("integration-hmac-keys", integration_id=self.integration.pk)
        return handler(request)

    def _done(self, request, text: str):
        messages.success(request, text)
        return redirect("integration-hmac-keys", integration_id=self.integration.pk)

    def _add_key(self, request):
        form = HmacKeyAddForm(request.POST)
        if not form.is_valid():
            return self._render(request, status=400, add_form=form)
        try:
            key = hmac_key_add(
                integration=self.integration,
                actor=request.user,
                request=request,
                label=form.cleaned_data["label"],
                secret=form.cleaned_data["secret"],
            )
        except EventsError as exc:
            form.add_error("secret", str(exc))
            return self._render(request, status=400, add_form=form)
        return self._done(request, f"Key '{key.label}' stored; it verifies events from now on.")

    def _deactivate_key(self, request):
        form = HmacKeyDeactivateForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Choose a key to deactivate.")
            return redirect("integration-hmac-keys", integration_id=self.integration.pk)
        try:
            key = hmac_key_deactivate(
                integration=self.integration,
                key_id=form.cleaned_data["key_id"],
                actor=request.user,
                request=request,
            )
        except EventsError as exc:
            messages.error(request, str(exc))
            return redirect("integration-hmac-keys", integration_id=self.integration.pk)
        return self._done(
            request, f"Key '{key.label}' deactivated: events signed only with it are now refused."
        )

    def _settings(self, request):
        form = ListenerSettingsForm(request.POST)
        if not form.is_valid():
            return self._render(request, status=400, settings_form=form)
        try:
            listener_settings_update(
                integration=self.integration,
                actor=request.user,
                request=request,
                **form.cleaned_data,
            )
        except EventsError as exc:
            form.add_error(None, str(exc))
            return self._render(request, status=400, settings_form=form)
        return self._done(request, "Listener settings saved.")

    def _rotate(self, request):
        listener_signing_secret_rotate(
            integration=self.integration, actor=request.user, request=request
        )
        return self._done(
            request,
            "Token-signing secret rotated: DocuSign fetches a new token on its next delivery.",
        )


# --- the tenant panel actions -----------------------------------------------------------------


def _panel_response(request, tenant: Tenant):
    data = events_tenant_panel(tenant=tenant)
    return render(request, "events/_tenant_panel.html", {**data, "panel": data, "tenant": tenant})


class TenantEventPanelView(TenantMixin, View):
    """The panel alone, for htmx polling while a test event is on its way."""

    permission = Perm.VIEW

    def get(self, request, tenant_id):
        return _panel_response(request, self.tenant)


class TenantSendTestEventView(TenantActionView):
    permission = Perm.OPERATE

    def act(self, request):
        # The tenant page's plain "Send a test event" button posts no event: use the default.
        form = TestEventForm({"event": request.POST.get("event") or TEST_EVENTS[0]})
        if not form.is_valid():
            messages.error(request, "Choose one of the offered events.")
        else:
            try:
                health = tenant_test_event_send(
                    tenant=self.tenant,
                    actor=request.user,
                    event=form.cleaned_data["event"],
                    request=request,
                )
            except EventsError as exc:
                messages.error(request, str(exc))
            else:
                # A refusal is explained in the panel itself, with the page that fixes it.
                if not health.test_error:
                    messages.success(
                        request,
                        f"Test event {health.test_event} requested for "
                        f"envelope {health.test_envelope_id}.",
                    )

    def done(self, request):
        # htmx swaps the panel in place; a plain form post goes back to the tenant page.
        if request.htmx:
            return _panel_response(request, self.tenant)
        return super().done(request)
