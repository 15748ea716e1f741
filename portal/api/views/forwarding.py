"""Event forwarding through the API: an integration's destinations (create, read with their health,
change, delete), a destination's signing secret (rotated, shown once), pause and resume, its
deliveries with their attempts, and replays (one delivery, every dead one, a tenant's events in a
time range). Each view translates; the staff pages call the same services, so the audit log reads
the same whoever asked."""

from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from apikeys.models import Scope
from forwarding.errors import ForwardingError
from forwarding.models import Delivery, Destination
from forwarding.selectors import (
    destination_deliveries,
    destination_get,
    destination_health,
    destination_health_list,
    destination_secrets_live,
)
from forwarding.services.destinations import (
    destination_create,
    destination_delete,
    destination_pause_on_request,
    destination_resume,
    destination_secret_rotate,
    destination_update,
)
from forwarding.services.replay import (
    deliveries_replay_dead,
    delivery_replay,
    tenant_events_replay,
)
from portal.api.base import ActionView, ApiView, object_or_404
from portal.api.pagination import query_params
from portal.api.problems import conflict, invalid
from portal.api.serializers.forwarding import (
    DeliveryListSerializer,
    DeliveryQuerySerializer,
    DeliverySerializer,
    DestinationCreatedSerializer,
    DestinationListSerializer,
    DestinationResumedSerializer,
    DestinationSerializer,
    DestinationWriteSerializer,
    PauseSerializer,
    ReplayStartedSerializer,
    SecretRotatedSerializer,
    TenantReplaySerializer,
)
from tenants.models import Integration
from tenants.selectors.tenants import integration_list

DESTINATION_EXAMPLE = {
    "name": "Back office",
    "url": "https://hooks.partner.example/docusign",
    "event_types": ["envelope-completed", "envelope-declined"],
    "tenants": [],
    "max_in_flight": 4,
}


def _integration(integration_id: int) -> Integration:
    integration = integration_list().filter(pk=integration_id).first()
    if integration is None:
        raise NotFound("No integration has this id.")
    return integration


def _destination(destination_id: int) -> Destination:
    return object_or_404(
        destination_get, "No destination has this id.", destination_id=destination_id
    )


def _shown(destination: Destination) -> dict:
    return DestinationSerializer(destination_health(destination=destination)).data


class DestinationListView(ApiView):
    required_scopes = {"GET": Scope.FORWARDING_READ, "POST": Scope.FORWARDING_WRITE}
    shown_once_fields = ("signing_secret",)

    @extend_schema(
        operation_id="destinations_list",
        summary="An integration's forwarding destinations, with their health",
        description="Attempts, success rate and latency over 24 hours; backlog and dead "
        "deliveries now. Never a signing secret.",
        responses={200: DestinationListSerializer},
    )
    def get(self, request, integration_id: int):
        rows = destination_health_list(integration_id=_integration(integration_id).pk)
        return Response({"results": DestinationSerializer(rows, many=True).data})

    @extend_schema(
        operation_id="destinations_create",
        summary="Add a forwarding destination",
        description="Verified Connect events of this integration are POSTed to `url`, signed per "
        "Standard Webhooks with the `signing_secret` of the answer, which is shown this once.",
        request=DestinationWriteSerializer,
        responses={201: DestinationCreatedSerializer},
        examples=[OpenApiExample("Add", value=DESTINATION_EXAMPLE, request_only=True)],
    )
    def post(self, request, integration_id: int):
        integration = _integration(integration_id)
        serializer = DestinationWriteSerializer(
            data=request.data, context={"integration": integration}
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            destination, secret = destination_create(
                integration=integration,
                name=data["name"],
                url=data["url"],
                event_types=data["event_types"],
                tenant_ids=data["tenants"],
                max_in_flight=data["max_in_flight"],
                actor=None,
                request=request,
            )
        except ForwardingError as exc:
            raise invalid({"body": [str(exc)]}) from None
        location = reverse("api:destination-detail", kwargs={"destination_id": destination.pk})
        return Response(
            {**_shown(destination), "signing_secret": secret},
            status=201,
            headers={"Location": location},
        )


class DestinationDetailView(ApiView):
    required_scopes = {
        "GET": Scope.FORWARDING_READ,
        "PATCH": Scope.FORWARDING_WRITE,
        "DELETE": Scope.FORWARDING_WRITE,
    }

    @extend_schema(
        operation_id="destinations_get",
        summary="A forwarding destination with its health",
        responses={200: DestinationSerializer},
    )
    def get(self, request, destination_id: int):
        return Response(_shown(_destination(destination_id)))

    @extend_schema(
        operation_id="destinations_update",
        summary="Change a forwarding destination",
        description="Only the fields sent change. The signing secret stays; rotate it apart.",
        request=DestinationWriteSerializer,
        responses={200: DestinationSerializer},
        examples=[
            OpenApiExample(
                "Completed only", value={"event_types": ["envelope-completed"]}, request_only=True
            )
        ],
    )
    def patch(self, request, destination_id: int):
        destination = _destination(destination_id)
        serializer = DestinationWriteSerializer(
            data=request.data, partial=True, context={"integration": destination.integration}
        )
        serializer.is_valid(raise_exception=True)
        try:
            destination = destination_update(
                destination=destination,
                actor=None,
                request=request,
                **serializer.values_for(destination),
            )
        except ForwardingError as exc:
            raise invalid({"body": [str(exc)]}) from None
        return Response(_shown(_destination(destination.pk)))

    @extend_schema(
        operation_id="destinations_delete",
        summary="Remove a forwarding destination with its deliveries",
        responses={204: None},
    )
    def delete(self, request, destination_id: int):
        destination_delete(destination=_destination(destination_id), actor=None, request=request)
        return Response(status=204)


class _DestinationActionView(ActionView):
    required_scopes = {"POST": Scope.FORWARDING_WRITE}
    refusals = (ForwardingError,)

    def get_object(self, destination_id: int):
        return _destination(destination_id)


@extend_schema_view(
    post=extend_schema(
        operation_id="destinations_rotate_secret",
        summary="Rotate a destination's signing secret",
        description="A new secret, shown in this answer only. The previous one keeps signing "
        "beside it (two signatures per message) until its `expires_at`, so your receiver can "
        "switch over without losing an event.",
        request=None,
        responses={200: SecretRotatedSerializer},
    )
)
class DestinationSecretRotateView(_DestinationActionView):
    shown_once_fields = ("signing_secret",)

    def act(self, request, destination):
        secret = destination_secret_rotate(destination=destination, actor=None, request=request)
        live = destination_secrets_live(destination_id=destination.pk)
        data = {"destination": destination.pk, "signing_secret": secret, "live_secrets": live}
        return Response(SecretRotatedSerializer(data).data)


@extend_schema_view(
    post=extend_schema(
        operation_id="destinations_pause",
        summary="Pause a destination",
        description="Nothing is sent to it until it is resumed; its events keep queueing. "
        "Pausing a paused destination is a 409.",
        request=PauseSerializer,
        responses={200: DestinationSerializer},
    )
)
class DestinationPauseView(_DestinationActionView):
    def act(self, request, destination):
        serializer = PauseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        destination = destination_pause_on_request(
            destination=destination,
            reason=serializer.validated_data["reason"],
            actor=None,
            request=request,
        )
        return Response(_shown(destination))


@extend_schema_view(
    post=extend_schema(
        operation_id="destinations_resume",
        summary="Resume a paused destination",
        description="Every pending delivery goes out now, oldest first (in order per envelope). "
        "Resuming a destination that is not paused is a 409.",
        request=None,
        responses={200: DestinationResumedSerializer},
    )
)
class DestinationResumeView(_DestinationActionView):
    def act(self, request, destination):
        if not destination.is_paused:
            raise conflict("This destination is not paused.")
        backlog = destination_resume(destination=destination, actor=None, request=request)
        return Response({"destination": _shown(_destination(destination.pk)), "backlog": backlog})


class DeliveryListView(ApiView):
    required_scopes = {"GET": Scope.FORWARDING_READ}

    @extend_schema(
        operation_id="destination_deliveries_list",
        summary="A destination's latest deliveries with their attempts, newest event first",
        description="Each attempt: when, whether it succeeded, the latency, the HTTP status, the "
        "first bytes of the answer, and why it failed.",
        parameters=[DeliveryQuerySerializer],
        responses={200: DeliveryListSerializer},
    )
    def get(self, request, destination_id: int):
        params = query_params(DeliveryQuerySerializer, request)
        destination = _destination(destination_id)
        rows = destination_deliveries(
            destination_id=destination.pk,
            status=params.get("status", ""),
            limit=params["limit"],
            with_attempts=True,
        )
        return Response({"results": DeliverySerializer(rows, many=True).data})


@extend_schema_view(
    post=extend_schema(
        operation_id="deliveries_replay",
        summary="Send one delivery again",
        description="A delivered or dead delivery starts a new round of attempts with the same "
        "`webhook-id`. A pending one is a 409: it goes out on its own.",
        request=None,
        responses={202: ReplayStartedSerializer},
    )
)
class DeliveryReplayView(_DestinationActionView):
    def get_object(self, destination_id: int, delivery_id: int):
        destination = _destination(destination_id)
        delivery = Delivery.objects.filter(pk=delivery_id, destination=destination).first()
        if delivery is None:
            raise NotFound("This destination has no delivery with this id.")
        delivery.destination = destination
        return delivery

    def act(self, request, delivery):
        delivery_replay(delivery=delivery, actor=None, request=request)
        return Response({"replayed": 1}, status=202)


@extend_schema_view(
    post=extend_schema(
        operation_id="destinations_replay_dead",
        summary="Send every dead delivery of a destination again",
        request=None,
        responses={202: ReplayStartedSerializer},
    )
)
class DeadReplayView(_DestinationActionView):
    def act(self, request, destination):
        count = deliveries_replay_dead(destination=destination, actor=None, request=request)
        return Response({"replayed": count}, status=202)


class TenantEventsReplayView(ApiView):
    required_scopes = {"POST": Scope.FORWARDING_WRITE}

    @extend_schema(
        operation_id="destinations_replay_tenant_events",
        summary="Send a tenant's events of a time range to a destination again",
        description="Every stored event of the tenant received in [since, until), including "
        "events the destination never had (received before it existed or outside its filter).",
        request=TenantReplaySerializer,
        responses={202: ReplayStartedSerializer},
        examples=[
            OpenApiExample(
                "One morning",
                value={
                    "tenant": 42,
                    "since": "2026-12-03T08:00:00Z",
                    "until": "2026-12-03T12:00:00Z",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request, destination_id: int):
        destination = _destination(destination_id)
        serializer = TenantReplaySerializer(
            data=request.data, context={"integration": destination.integration}
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            count = tenant_events_replay(
                destination=destination,
                tenant=data["tenant"],
                since=data["since"],
                until=data["until"],
                actor=None,
                request=request,
            )
        except ForwardingError as exc:
            raise invalid({"body": [str(exc)]}) from None
        return Response({"replayed": count}, status=202)
