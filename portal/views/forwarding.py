"""Forwarding pages: an integration's destinations with their health, and one destination with
its deliveries, its signing secret, pause/resume and replays. A new signing secret is shown once,
on the page that answers its creation, and never again."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.functional import cached_property
from django.views import View

from accounts.roles import Perm
from forwarding.errors import ForwardingError
from forwarding.models import Delivery, Destination
from forwarding.selectors import destination_deliveries, destination_health, destination_health_list
from forwarding.services.destinations import (
    destination_create,
    destination_delete,
    destination_resume,
    destination_secret_rotate,
    destination_update,
)
from forwarding.services.replay import (
    deliveries_replay_dead,
    delivery_replay,
    tenant_events_replay,
)
from portal.forms.forwarding import DestinationForm, TenantReplayForm
from portal.views.mixins import StaffRequiredMixin
from tenants.models import Integration


class IntegrationDestinationsView(StaffRequiredMixin, View):
    template_name = "forwarding/destination_list.html"
    permission = Perm.VIEW
    action_permission = Perm.MANAGE_INTEGRATIONS

    @cached_property
    def integration(self) -> Integration:
        return get_object_or_404(Integration, pk=self.kwargs["integration_id"])

    def _render(self, request, *, form=None, status=200, **extra):
        context = {
            "integration": self.integration,
            "health": destination_health_list(integration_id=self.integration.pk),
            "form": form or DestinationForm(integration=self.integration),
            "can_manage": request.user.can(Perm.MANAGE_INTEGRATIONS),
            **extra,
        }
        return render(request, self.template_name, context, status=status)

    def get(self, request, integration_id):
        return self._render(request)

    def post(self, request, integration_id):
        form = DestinationForm(request.POST, integration=self.integration)
        if not form.is_valid():
            return self._render(request, form=form, status=400)
        try:
            destination, secret = destination_create(
                integration=self.integration,
                name=form.cleaned_data["name"],
                url=form.cleaned_data["url"],
                event_types=form.cleaned_data["event_types"],
                tenant_ids=form.cleaned_data["tenants"],
                max_in_flight=form.cleaned_data["max_in_flight"],
                actor=request.user,
                request=request,
            )
        except ForwardingError as exc:
            form.add_error(None, str(exc))
            return self._render(request, form=form, status=400)
        return self._render(request, new_secret=secret, new_destination=destination)


# The permission each action of the destination page needs.
_ACTIONS = {
    "update": Perm.MANAGE_INTEGRATIONS,
    "rotate": Perm.MANAGE_INTEGRATIONS,
    "delete": Perm.MANAGE_INTEGRATIONS,
    "resume": Perm.OPERATE,
    "replay_one": Perm.OPERATE,
    "replay_dead": Perm.OPERATE,
    "replay_tenant": Perm.OPERATE,
}


class DestinationDetailView(StaffRequiredMixin, View):
    template_name = "forwarding/destination_detail.html"
    permission = Perm.VIEW

    def required_permission(self, method: str) -> Perm:
        if method == "POST":
            request = getattr(self, "request", None)
            action = request.POST.get("action", "") if request is not None else ""
            return _ACTIONS.get(action, Perm.MANAGE_INTEGRATIONS)
        return self.permission

    @cached_property
    def destination(self) -> Destination:
        return get_object_or_404(
            Destination.objects.select_related("integration"), pk=self.kwargs["destination_id"]
        )

    def _render(self, request, *, status=200, **extra):
        destination = self.destination
        shown = request.GET.get("status", "")
        if shown not in Delivery.Status.values:
            shown = ""
        extra.setdefault(
            "form",
            DestinationForm(
                integration=destination.integration,
                initial={
                    "name": destination.name,
                    "url": destination.url,
                    "event_types": ", ".join(destination.event_types),
                    "tenants": ", ".join(destination.tenants.values_list("slug", flat=True)),
                    "max_in_flight": destination.max_in_flight,
                },
            ),
        )
        extra.setdefault("replay_form", TenantReplayForm(integration=destination.integration))
        context = {
            "destination": destination,
            "integration": destination.integration,
            "health": destination_health(destination=destination),
            "deliveries": destination_deliveries(destination_id=destination.pk, status=shown),
            "shown_status": shown,
            "statuses": Delivery.Status.choices,
            **extra,
        }
        return render(request, self.template_name, context, status=status)

    def get(self, request, destination_id):
        return self._render(request)

    def post(self, request, destination_id):
        handler = getattr(self, f"_{request.POST.get('action', '')}", None)
        if request.POST.get("action") not in _ACTIONS or handler is None:
            messages.error(request, "Unknown action.")
            return redirect("destination-detail", destination_id=destination_id)
        try:
            return handler(request)
        except ForwardingError as exc:
            messages.error(request, str(exc))
            return redirect("destination-detail", destination_id=destination_id)

    def _done(self, request, text: str):
        messages.success(request, text)
        return redirect("destination-detail", destination_id=self.destination.pk)

    def _update(self, request):
        form = DestinationForm(request.POST, integration=self.destination.integration)
        if not form.is_valid():
            return self._render(request, form=form, status=400)
        destination_update(
            destination=self.destination,
            name=form.cleaned_data["name"],
            url=form.cleaned_data["url"],
            event_types=form.cleaned_data["event_types"],
            tenant_ids=form.cleaned_data["tenants"],
            max_in_flight=form.cleaned_data["max_in_flight"],
            actor=request.user,
            request=request,
        )
        return self._done(request, "The destination was saved.")

    def _rotate(self, request):
        secret = destination_secret_rotate(
            destination=self.destination, actor=request.user, request=request
        )
        return self._render(request, new_secret=secret)

    def _delete(self, request):
        integration_id = self.destination.integration_id
        destination_delete(destination=self.destination, actor=request.user, request=request)
        messages.success(request, "The destination was removed with its deliveries.")
        return redirect("integration-destinations", integration_id=integration_id)

    def _resume(self, request):
        count = destination_resume(
            destination=self.destination, actor=request.user, request=request
        )
        return self._done(request, f"Resumed: {count} pending deliveries go out oldest first.")

    def _replay_one(self, request):
        delivery = get_object_or_404(
            Delivery, pk=request.POST.get("delivery_id", "0"), destination=self.destination
        )
        delivery.destination = self.destination
        delivery_replay(delivery=delivery, actor=request.user, request=request)
        return self._done(request, f"Event {delivery.event_id} is sent again.")

    def _replay_dead(self, request):
        count = deliveries_replay_dead(
            destination=self.destination, actor=request.user, request=request
        )
        return self._done(request, f"{count} dead deliveries are sent again.")

    def _replay_tenant(self, request):
        form = TenantReplayForm(request.POST, integration=self.destination.integration)
        if not form.is_valid():
            return self._render(request, replay_form=form, status=400)
        count = tenant_events_replay(
            destination=self.destination,
            tenant=form.cleaned_data["tenant"],
            since=form.cleaned_data["since"],
            until=form.cleaned_data["until"],
            actor=request.user,
            request=request,
        )
        return self._done(
            request, f"{count} events of {form.cleaned_data['tenant']} are sent again."
        )
