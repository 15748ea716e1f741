"""Shapes of integrations, Connect templates and assignments, events and bulk operations."""

from rest_framework import serializers

from common.models import BulkOperation
from connect.models import ConnectTemplate
from connect.services.templates import config_name
from portal.api.pagination import PageQuerySerializer
from portal.api.serializers.base import StrictSerializer, id_field
from portal.api.serializers.tenants import TenantListQuerySerializer
from tenants.models import Integration


class IntegrationSerializer(serializers.Serializer):
    """Never a secret: only whether the secret key and RSA key are set."""

    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    environment = serializers.ChoiceField(choices=Integration.Environment.choices)
    auth_base_url = serializers.CharField()
    integration_key = serializers.CharField()
    redirect_uri = serializers.CharField()
    partner_account_id = serializers.CharField()
    is_active = serializers.BooleanField()
    has_secret_key = serializers.BooleanField()
    has_rsa_private_key = serializers.BooleanField()
    rsa_public_key = serializers.CharField(help_text="Public: paste it into DocuSign.")


class IntegrationPageSerializer(serializers.Serializer):
    results = IntegrationSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class ConnectTemplateSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    slug = serializers.CharField()
    config_name = serializers.SerializerMethodField()
    integration = serializers.IntegerField(source="integration_id")
    policy = serializers.ChoiceField(choices=ConnectTemplate.Policy.choices)
    applies_to = serializers.ChoiceField(choices=ConnectTemplate.AppliesTo.choices)
    is_active = serializers.BooleanField()
    current_version = serializers.IntegerField()

    def get_config_name(self, template) -> str:
        return config_name(template.slug)


class ConnectTemplateDetailSerializer(ConnectTemplateSerializer):
    settings = serializers.DictField(help_text="The current version's managed settings.")


class ConnectTemplatePageSerializer(serializers.Serializer):
    results = ConnectTemplateSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class AssignmentSerializer(serializers.Serializer):
    template = serializers.IntegerField(source="template_id")
    tenant = serializers.IntegerField(source="tenant_id")
    tenant_slug = serializers.CharField(source="tenant.slug")
    overrides = serializers.DictField(
        help_text="Per-tenant overrides (url_to_publish_to, events); empty: the template's."
    )


class AssignmentPageSerializer(serializers.Serializer):
    results = AssignmentSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class AssignmentCreateSerializer(StrictSerializer):
    tenant = id_field(help_text="The tenant to assign.")


class SyncRequestedSerializer(serializers.Serializer):
    tenant = serializers.IntegerField()
    queued = serializers.BooleanField()


class EventListQuerySerializer(PageQuerySerializer):
    tenant = id_field(required=False)
    event = serializers.CharField(required=False, max_length=64)
    envelope_id = serializers.CharField(required=False, max_length=64)


class EventSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    tenant = serializers.IntegerField(source="tenant_id")
    account_id = serializers.CharField()
    configuration_id = serializers.CharField()
    event = serializers.CharField()
    envelope_id = serializers.CharField()
    recipient_id = serializers.CharField()
    generated_date_time = serializers.CharField()
    retry_count = serializers.IntegerField()
    auth_method = serializers.CharField()
    received_at = serializers.DateTimeField()
    is_test = serializers.BooleanField()


class EventDetailSerializer(EventSerializer):
    payload = serializers.JSONField(
        help_text="As DocuSign sent it, without document bytes or secret-looking values."
    )


class EventPageSerializer(serializers.Serializer):
    results = EventSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class BulkFilterSerializer(TenantListQuerySerializer):
    """The tenant list's filters (no paging)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("cursor", "limit", "sort"):
            self.fields.pop(name)


class BulkStartSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=BulkOperation.Kind.choices)
    tenant_ids = serializers.ListField(
        child=id_field(),
        required=False,
        min_length=1,
        max_length=10_000,
        help_text="Only these tenants (archived ones are left out).",
    )
    filter = BulkFilterSerializer(
        required=False,
        help_text="Only tenants matching the tenant list's filters. With neither `tenant_ids` "
        "nor `filter`: every tenant in the list.",
    )


class BulkOperationSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    kind = serializers.ChoiceField(choices=BulkOperation.Kind.choices)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    total = serializers.IntegerField()
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = serializers.IntegerField()
    done = serializers.IntegerField()
    percent = serializers.IntegerField()
