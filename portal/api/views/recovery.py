"""Republish failed Connect deliveries: the partner API's side of the recovery app."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from apikeys.models import Scope
from portal.api.base import ApiView, object_or_404
from portal.api.problems import conflict
from portal.api.serializers.other import BulkOperationSerializer
from portal.api.serializers.recovery import RepublishSerializer
from recovery.services.republish import RepublishError, delivery_failures_republish
from tenants.selectors.tenants import tenant_get


class RepublishView(ApiView):
    required_scopes = {"POST": Scope.BULK_WRITE}

    @extend_schema(
        operation_id="delivery_failures_republish",
        summary="Republish failed Connect deliveries",
        description="Asks DocuSign to resend every unrecovered failed delivery in scope (one "
        "envelope, one tenant, or the whole fleet between `start` and `end`: the window of an "
        "outage), batched per account within its API budget. Answers the bulk operation; poll it "
        "for progress. A failure counts as recovered only when its event reaches the portal. "
        "409 when nothing in scope can be republished.",
        request=RepublishSerializer,
        responses={202: BulkOperationSerializer},
    )
    def post(self, request):
        serializer = RepublishSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        tenant = None
        if "tenant" in data:
            tenant = object_or_404(tenant_get, "No tenant has this id.", tenant_id=data["tenant"])
        try:
            operation = delivery_failures_republish(
                actor=None,
                tenant=tenant,
                envelope_id=data.get("envelope_id") or None,
                start=data.get("start"),
                end=data.get("end"),
                request=request,
            )
        except RepublishError as exc:
            raise conflict(str(exc)) from None
        return Response(BulkOperationSerializer(operation).data, status=202)
