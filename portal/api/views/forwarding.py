"""Event forwarding through the API (read-only): each destination of an integration with its
health, and a destination's latest deliveries. Destinations are managed on the staff pages."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from apikeys.models import Scope
from forwarding.models import Delivery, Destination
from forwarding.selectors import destination_deliveries, destination_health_list
from portal.api.base import ApiView
from portal.api.pagination import StrictQuerySerializer, query_params


class DestinationHealthSerializer(serializers.Serializer):
    """Never a signing secret."""

    id = serializers.IntegerField(source="destination.pk")
    name = serializers.CharField(source="destination.name")
    url = serializers.CharField(source="destination.url")
    event_types = serializers.ListField(
        child=serializers.CharField(), source="destination.event_types"
    )
    paused = serializers.BooleanField()
    pause_reason = serializers.CharField(source="destination.pause_reason")
    attempts_24h = serializers.IntegerField()
    success_rate = serializers.FloatField(allow_null=True)
    p50_ms = serializers.IntegerField(allow_null=True)
    p95_ms = serializers.IntegerField(allow_null=True)
    backlog = serializers.IntegerField()
    dead = serializers.IntegerField()
    last_error = serializers.CharField()
    last_error_at = serializers.DateTimeField(allow_null=True)


class DestinationListSerializer(serializers.Serializer):
    results = DestinationHealthSerializer(many=True)


class DeliveryQuerySerializer(StrictQuerySerializer):
    status = serializers.ChoiceField(required=False, choices=Delivery.Status.choices)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)


class DeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    tenant = serializers.IntegerField(source="tenant_id")
    tenant_slug = serializers.CharField(source="tenant.slug")
    event = serializers.IntegerField(source="event_id")
    event_name = serializers.CharField(source="event.event")
    envelope_id = serializers.CharField()
    status = serializers.ChoiceField(choices=Delivery.Status.choices)
    attempt_count = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField()


class DeliveryListSerializer(serializers.Serializer):
    results = DeliverySerializer(many=True)


class DestinationListView(ApiView):
    required_scopes = {"GET": Scope.EVENTS_READ}

    @extend_schema(
        operation_id="destinations_list",
        summary="An integration's forwarding destinations, with their health",
        description="Attempts, success rate and latency over 24 hours; backlog and dead "
        "deliveries now. Never a signing secret.",
        responses={200: DestinationListSerializer},
    )
    def get(self, request, integration_id: int):
        rows = destination_health_list(integration_id=integration_id)
        return Response({"results": DestinationHealthSerializer(rows, many=True).data})


class DeliveryListView(ApiView):
    required_scopes = {"GET": Scope.EVENTS_READ}

    @extend_schema(
        operation_id="destination_deliveries_list",
        summary="A destination's latest deliveries, newest event first",
        parameters=[DeliveryQuerySerializer],
        responses={200: DeliveryListSerializer},
    )
    def get(self, request, destination_id: int):
        params = query_params(DeliveryQuerySerializer, request)
        if not Destination.objects.filter(pk=destination_id).exists():
            raise NotFound("No destination has this id.")
        rows = destination_deliveries(
            destination_id=destination_id, status=params.get("status", ""), limit=params["limit"]
        )
        return Response({"results": DeliverySerializer(rows, many=True).data})
