from django.db.models import QuerySet

from apikeys.models import ApiKey


def api_key_list() -> QuerySet[ApiKey]:
    return ApiKey.objects.order_by("-created_at", "-id")


def api_key_get(*, key_id: int) -> ApiKey:
    return ApiKey.objects.get(pk=key_id)
