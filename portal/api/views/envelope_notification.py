"""A tenant's envelope-level Connect settings (`eventNotification`), ready for an envelope-create
call from the partner's own sending code (issue 21)."""

import json

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from apikeys.models import Scope
from connect.selectors import connect_event_notifications_for_tenant
from portal.api.base import ApiView, tenant_or_404


class EventNotificationBlockSerializer(serializers.Serializer):
    template = serializers.CharField(help_text="The Connect template the block is rendered from.")
    event_notification = serializers.DictField(
        allow_null=True,
        help_text="The `eventNotification` object to put in an envelope-create body; null when "
        "the template cannot be rendered for this tenant (see `error`).",
    )
    error = serializers.CharField(allow_blank=True, help_text="Why the block is missing, if it is.")
    basic_credentials_dropped = serializers.BooleanField(
        help_text="The template pushes Basic credentials, which an envelope-level notification "
        "cannot carry: the listener must accept these deliveries by HMAC."
    )


class TenantEventNotificationView(ApiView):
    required_scopes = {"GET": Scope.CONNECT_READ}

    @extend_schema(
        operation_id="tenants_event_notification",
        summary="A tenant's envelope-level eventNotification blocks",
        description="For each Connect template that applies to the tenant, the integratorManaged "
        "`eventNotification` object to paste into `POST /envelopes`, with the partner's "
        "authentication. Empty until the tenant has a linked DocuSign account.",
        responses={200: EventNotificationBlockSerializer(many=True)},
    )
    def get(self, request, tenant_id: int):
        blocks = [
            {
                "template": block["template"],
                "event_notification": (
                    json.loads(block["json"])["eventNotification"] if block["json"] else None
                ),
                "error": block["error"] or "",
                "basic_credentials_dropped": block["basic_dropped"],
            }
            for block in connect_event_notifications_for_tenant(tenant=tenant_or_404(tenant_id))
        ]
        return Response(EventNotificationBlockSerializer(blocks, many=True).data)
