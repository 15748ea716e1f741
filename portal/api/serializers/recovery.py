"""Shapes of the delivery-failure republish request (recovery app)."""

from rest_framework import serializers

from portal.api.serializers.base import StrictSerializer, id_field


class RepublishSerializer(StrictSerializer):
    """What to republish; every field narrows the scope, none means every unrecovered failure."""

    tenant = id_field(required=False, help_text="Only this tenant's failures.")
    envelope_id = serializers.CharField(
        required=False, max_length=64, help_text="Only this envelope's failures."
    )
    start = serializers.DateTimeField(
        required=False,
        help_text="Only failures DocuSign recorded at or after this time (an outage's start).",
    )
    end = serializers.DateTimeField(
        required=False, help_text="Only failures DocuSign recorded at or before this time."
    )

    def validate(self, attrs):
        start, end = attrs.get("start"), attrs.get("end")
        if start and end and start > end:
            raise serializers.ValidationError({"end": ["Must not be before start."]})
        return attrs
