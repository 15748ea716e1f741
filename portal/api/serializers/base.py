from rest_framework import serializers

from portal.converters import ID_MAX


def id_field(**kwargs) -> serializers.IntegerField:
    """An id a client sends: a positive integer a row could have (a larger one is a field
    error, never a database error)."""
    return serializers.IntegerField(min_value=1, max_value=ID_MAX, **kwargs)


class StrictSerializer(serializers.Serializer):
    """A request body: an unknown field is an error naming it, never silently dropped."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - {n for n, f in self.fields.items() if not f.read_only})
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class FieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="The body field, query parameter or header at fault.")
    message = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.CharField(help_text="`about:blank` or `urn:partner-portal:problem:<code>`.")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField(required=False)
    instance = serializers.CharField(required=False)
    request_id = serializers.CharField(required=False)
    errors = FieldErrorSerializer(many=True, required=False)
    missing_scope = serializers.CharField(required=False, help_text="On a 403: the scope needed.")
