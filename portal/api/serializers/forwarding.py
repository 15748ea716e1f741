"""Shapes of forwarding destinations (with their health), signing secrets shown once, deliveries
with their attempts, and the bodies of the destination and replay requests."""

from datetime import timedelta

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.outbound import OutboundRefused, outbound_url_check
from connect.validation import SIM_EVENTS
from forwarding.models import Delivery
from portal.api.pagination import StrictQuerySerializer
from portal.api.serializers.base import StrictSerializer, id_field
from tenants.models import Tenant

MAX_TENANT_FILTER = 500
SHOWN_ONCE_HELP = (
    "The signing secret (`whsec_…`), in this answer only: it is never shown again. A retry with "
    "the same Idempotency-Key gets this answer with `null` here; rotate for a new secret."
)


class DestinationSerializer(serializers.Serializer):
    """A destination with its health (from `destination_health`). Never a signing secret."""

    id = serializers.IntegerField(source="destination.pk")
    integration = serializers.IntegerField(source="destination.integration_id")
    name = serializers.CharField(source="destination.name")
    url = serializers.CharField(source="destination.url")
    event_types = serializers.ListField(
        child=serializers.CharField(),
        source="destination.event_types",
        help_text="The DocuSign event names forwarded; empty: every event.",
    )
    tenants = serializers.SerializerMethodField(
        help_text="The tenants whose events are forwarded; empty: every tenant."
    )
    max_in_flight = serializers.IntegerField(source="destination.max_in_flight")
    created_at = serializers.DateTimeField(source="destination.created_at")
    paused = serializers.BooleanField()
    paused_at = serializers.DateTimeField(source="destination.paused_at", allow_null=True)
    pause_reason = serializers.CharField(source="destination.pause_reason")
    attempts_24h = serializers.IntegerField()
    success_rate = serializers.FloatField(allow_null=True)
    p50_ms = serializers.IntegerField(allow_null=True)
    p95_ms = serializers.IntegerField(allow_null=True)
    backlog = serializers.IntegerField()
    dead = serializers.IntegerField()
    last_error = serializers.CharField()
    last_error_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_tenants(self, health: dict) -> list[int]:
        return [tenant.pk for tenant in health["destination"].tenants.all()]


class DestinationListSerializer(serializers.Serializer):
    results = DestinationSerializer(many=True)


class DestinationCreatedSerializer(DestinationSerializer):
    signing_secret = serializers.CharField(allow_null=True, help_text=SHOWN_ONCE_HELP)


class SigningSecretSerializer(serializers.Serializer):
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(
        allow_null=True, help_text="When it stops signing; null while it is the current one."
    )


class SecretRotatedSerializer(serializers.Serializer):
    destination = serializers.IntegerField()
    signing_secret = serializers.CharField(allow_null=True, help_text=SHOWN_ONCE_HELP)
    live_secrets = SigningSecretSerializer(
        many=True,
        help_text="The secrets that sign now, newest first: the previous one keeps signing "
        "beside the new one until its `expires_at` (two signatures per message meanwhile).",
    )


class DestinationResumedSerializer(serializers.Serializer):
    destination = DestinationSerializer()
    backlog = serializers.IntegerField(help_text="Pending deliveries, now sent oldest first.")


class ReplayStartedSerializer(serializers.Serializer):
    replayed = serializers.IntegerField(
        help_text="Deliveries sent again (same `webhook-id` as before), oldest event first."
    )


def _event_type_field() -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=list(SIM_EVENTS),
        error_messages={
            "invalid_choice": "Unknown event type '{input}'; use DocuSign's event names, like "
            "envelope-completed."
        },
    )


class DestinationWriteSerializer(StrictSerializer):
    """The body of a new destination, or (PATCH) the fields that change. Needs the integration in
    `context["integration"]` to check the tenant filter."""

    name = serializers.CharField(max_length=100)
    url = serializers.CharField(
        max_length=500,
        help_text="https only (plain http and private or loopback addresses only for the hosts "
        "the portal allows in development); no user name or password in it.",
    )
    event_types = serializers.ListField(
        child=_event_type_field(),
        max_length=50,
        required=False,
        default=list,
        help_text="DocuSign event names; empty: every event.",
    )
    tenants = serializers.ListField(
        child=id_field(),
        max_length=MAX_TENANT_FILTER,
        required=False,
        default=list,
        help_text="Ids of tenants of this integration; empty: every tenant.",
    )
    max_in_flight = serializers.IntegerField(
        min_value=1,
        max_value=32,
        required=False,
        default=4,
        help_text=(
            "Requests to this URL in flight at once, at most. Allow at least the events per "
            "second it receives times its answer time in seconds, and room for bursts (100 "
            "events/s answered in 50 ms: at least 5; 16 leaves room)."
        ),
    )

    def validate_url(self, value: str) -> str:
        url = value.strip()
        try:
            outbound_url_check(url)
        except OutboundRefused as exc:
            raise serializers.ValidationError(str(exc)) from None
        return url

    def validate_tenants(self, value: list[int]) -> list[int]:
        wanted = list(dict.fromkeys(value))
        found = dict(Tenant.objects.filter(pk__in=wanted).values_list("pk", "integration_id"))
        missing = [pk for pk in wanted if pk not in found]
        if missing:
            raise serializers.ValidationError(f"No tenant has the id {missing[0]}.")
        integration = self.context["integration"]
        foreign = [pk for pk in wanted if found[pk] != integration.pk]
        if foreign:
            raise serializers.ValidationError(
                f"Tenant {foreign[0]} belongs to another integration; only tenants of "
                f"'{integration.name}' can be chosen."
            )
        return wanted

    def values_for(self, destination) -> dict:
        """Every field of `destination_update`: the ones sent, the others as they are."""
        data = self.validated_data
        return {
            "name": data.get("name", destination.name),
            "url": data.get("url", destination.url),
            "event_types": data.get("event_types", destination.event_types),
            "tenant_ids": data.get("tenants", [tenant.pk for tenant in destination.tenants.all()]),
            "max_in_flight": data.get("max_in_flight", destination.max_in_flight),
        }


class PauseSerializer(StrictSerializer):
    reason = serializers.CharField(
        max_length=300, required=False, default="", allow_blank=True, help_text="Shown to staff."
    )


def replay_range_max() -> timedelta:
    """Events are kept EVENT_RETENTION_DAYS: a longer range cannot find more."""
    return timedelta(days=max(1, int(settings.EVENT_RETENTION_DAYS)))


class TenantReplaySerializer(StrictSerializer):
    """Needs the destination's integration in `context["integration"]`."""

    tenant = id_field(help_text="A tenant of this integration.")
    since = serializers.DateTimeField(help_text="Events received at or after this instant.")
    until = serializers.DateTimeField(
        help_text="Events received before this instant; at most EVENT_RETENTION_DAYS (default "
        "30) days after `since`."
    )

    def validate_tenant(self, value: int) -> Tenant:
        tenant = Tenant.objects.filter(pk=value).first()
        if tenant is None:
            raise serializers.ValidationError("No tenant has this id.")
        if tenant.integration_id != self.context["integration"].pk:
            raise serializers.ValidationError(
                "This tenant belongs to another integration than the destination's."
            )
        return tenant

    def validate(self, data: dict) -> dict:
        since, until = data["since"], data["until"]
        if since >= until:
            raise serializers.ValidationError({"until": "The end must be after the start."})
        longest = replay_range_max()
        if until - since > longest:
            raise serializers.ValidationError(
                {"until": f"The range may span at most {longest.days} days."}
            )
        return data


class DeliveryQuerySerializer(StrictQuerySerializer):
    status = serializers.ChoiceField(required=False, choices=Delivery.Status.choices)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)


class AttemptSerializer(serializers.Serializer):
    attempted_at = serializers.DateTimeField()
    succeeded = serializers.BooleanField()
    status_code = serializers.IntegerField(
        allow_null=True, help_text="The destination's HTTP status; null when it did not answer."
    )
    latency_ms = serializers.IntegerField(allow_null=True)
    response_excerpt = serializers.CharField(help_text="The first bytes of the answer.")
    error = serializers.CharField(help_text="Why the attempt failed, in a sentence; empty if not.")


class DeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    tenant = serializers.IntegerField(source="tenant_id")
    tenant_slug = serializers.CharField(source="tenant.slug")
    event = serializers.IntegerField(source="event_id")
    event_name = serializers.CharField(source="event.event")
    envelope_id = serializers.CharField()
    webhook_id = serializers.CharField(help_text="The same on every attempt and replay.")
    status = serializers.ChoiceField(choices=Delivery.Status.choices)
    attempt_count = serializers.IntegerField(help_text="Attempts in the current round.")
    next_attempt_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField()
    attempts = AttemptSerializer(
        many=True, source="attempts.all", help_text="Every attempt, newest first."
    )


class DeliveryListSerializer(serializers.Serializer):
    results = DeliverySerializer(many=True)
