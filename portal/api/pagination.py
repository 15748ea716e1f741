"""Cursor (keyset) pagination: the cursor carries the last row's sort values, signed, so a page
costs one indexed query however deep it is, and rows added meanwhile are neither skipped nor
repeated."""

from datetime import datetime

from django.core import signing
from django.db.models import Q, QuerySet
from rest_framework import serializers

from portal.api.problems import bad_request

CURSOR_SALT = "portal.api.cursor.v1"
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class StrictQuerySerializer(serializers.Serializer):
    """Query parameters: an unknown one is an error naming it (a typo must not widen a filter)."""

    def to_internal_value(self, data):
        # A plain dict: DRF treats an empty value in a QueryDict as "not sent", but `?cursor=` is
        # not the same request as no cursor, and the OpenAPI document says so.
        data = {key: data.get(key) for key in data}
        unknown = sorted(set(data.keys()) - set(self.fields))
        if unknown:
            raise bad_request(
                field=unknown[0],
                message=f"Unknown query parameter '{unknown[0][:60]}'; known: "
                f"{', '.join(sorted(self.fields))}.",
                code="unknown-parameter",
            )
        return super().to_internal_value(data)


class PageQuerySerializer(StrictQuerySerializer):
    cursor = serializers.CharField(
        required=False, max_length=1000, help_text="`next_cursor` of the previous page."
    )
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT
    )


def query_params(serializer_class, request) -> dict:
    """Validated query parameters; errors are 400 problems naming the parameter."""
    serializer = serializer_class(data=request.query_params)
    if not serializer.is_valid():
        field, messages = next(iter(serializer.errors.items()))
        raise bad_request(field=field, message=str(messages[0]), code="invalid-parameter")
    return serializer.validated_data


def _encode(value):
    return {"dt": value.isoformat()} if isinstance(value, datetime) else value


def _decode(value):
    if isinstance(value, dict) and set(value) == {"dt"}:
        return datetime.fromisoformat(value["dt"])
    return value


def cursor_page(
    queryset: QuerySet, *, order: list[tuple[str, bool]], sort_name: str, cursor, limit: int
) -> tuple[list, str | None]:
    """One page of `queryset` ordered by `order` ([(field, descending)], ending with a unique
    field), after `cursor`; returns (rows, next cursor or None)."""
    queryset = queryset.order_by(*[f"-{f}" if desc else f for f, desc in order])
    if cursor:
        try:
            payload = signing.loads(cursor, salt=CURSOR_SALT)
            values = [_decode(v) for v in payload["v"]]
            if payload["s"] != sort_name or len(values) != len(order):
                raise ValueError
        except (signing.BadSignature, KeyError, TypeError, ValueError):
            raise bad_request(
                field="cursor",
                message="The cursor is not one this list gave out (or belongs to another sort).",
                code="invalid-cursor",
            ) from None
        after = Q()
        for i, (field, desc) in enumerate(order):
            step = Q(**{f"{field}__{'lt' if desc else 'gt'}": values[i]})
            for j in range(i):
                step &= Q(**{order[j][0]: values[j]})
            after |= step
        queryset = queryset.filter(after)
    rows = list(queryset[: limit + 1])
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    values = [_encode(_attr(last, field)) for field, _ in order]
    return rows, signing.dumps({"s": sort_name, "v": values}, salt=CURSOR_SALT)


def _attr(obj, dotted: str):
    for part in dotted.split("__"):
        obj = getattr(obj, part)
    return obj
