from rest_framework import serializers

# The largest id a row can have (PostgreSQL's bigint, SQLite's integer): a larger one in a query,
# a body or a path is a client's mistake (a field error, a 404), never a database error.
ID_MAX = 2**63 - 1


def id_field(**kwargs) -> serializers.IntegerField:
    """An id a client sends: a positive integer a row could have."""
    return serializers.IntegerField(min_value=1, max_value=ID_MAX, **kwargs)


class IdConverter:
    """`<id:name>` in a URL: digits of an id a row could have; anything larger matches no route
    (a 404, as for an id that does not exist)."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > ID_MAX:
            raise ValueError("larger than any id")
        return number

    def to_url(self, value: int) -> str:
        return str(value)


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
