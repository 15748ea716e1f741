"""Shapes of tenants, invites, a tenant's status and the tenant list's filters."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.api.pagination import PageQuerySerializer
from portal.api.serializers.base import StrictSerializer, id_field
from tenants.models import Integration, Invite, Tenant
from tenants.selectors.fleet import (
    ARCHIVED,
    ATTENTION_CHOICES,
    CONNECT_HEALTH,
    STATUS_FILTER_CHOICES,
)
from tenants.services.tenants import NOTES_MAX_LENGTH

TENANT_SORTS = {
    "name": [("name", False), ("pk", False)],
    "-name": [("name", True), ("pk", True)],
    "created": [("created_at", False), ("pk", False)],
    "-created": [("created_at", True), ("pk", True)],
}
CONNECT_HEALTH_VALUES = list(CONNECT_HEALTH)
CONNECT_HEALTH_CHOICES = [*CONNECT_HEALTH_VALUES, "untracked"]
STATUS_FILTER_VALUES = [value for value, _ in STATUS_FILTER_CHOICES]


def _cached(tenant: Tenant, name: str):
    """A one-to-one neighbour joined by select_related (None when absent), never a query."""
    return tenant._state.fields_cache.get(name)


class TenantListQuerySerializer(PageQuerySerializer):
    q = serializers.CharField(
        required=False, max_length=200, help_text="Name, slug, admin email or DocuSign account id."
    )
    status = serializers.ChoiceField(
        required=False,
        choices=STATUS_FILTER_VALUES,
        help_text=f"A tenant status, or `{ARCHIVED}` for archived tenants (hidden otherwise).",
    )
    integration = id_field(required=False)
    health = serializers.ChoiceField(required=False, choices=CONNECT_HEALTH_VALUES)
    attention = serializers.ChoiceField(
        required=False,
        choices=[key for key, _ in ATTENTION_CHOICES],
        help_text="Only tenants that need a human for this reason.",
    )
    sort = serializers.ChoiceField(required=False, choices=list(TENANT_SORTS), default="name")


class TenantAccountSerializer(serializers.Serializer):
    account_id = serializers.CharField()
    account_name = serializers.CharField()
    base_uri = serializers.CharField()
    consented_at = serializers.DateTimeField()


class TenantSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    slug = serializers.CharField()
    admin_email = serializers.EmailField()
    integration = serializers.IntegerField(source="integration_id")
    integration_name = serializers.CharField(source="integration.name")
    grant_mode = serializers.ChoiceField(choices=Tenant.GrantMode.choices)
    notes = serializers.CharField()
    status = serializers.ChoiceField(choices=Tenant.Status.choices)
    status_reason = serializers.CharField()
    status_changed_at = serializers.DateTimeField()
    archived = serializers.BooleanField(source="is_archived")
    archived_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    account = serializers.SerializerMethodField()
    connect_health = serializers.SerializerMethodField()
    last_sync_at = serializers.SerializerMethodField()
    consent_lapses_at = serializers.SerializerMethodField()

    @extend_schema_field(TenantAccountSerializer(allow_null=True))
    def get_account(self, tenant):
        account = _cached(tenant, "account")
        return TenantAccountSerializer(account).data if account else None

    @extend_schema_field(serializers.ChoiceField(choices=CONNECT_HEALTH_CHOICES))
    def get_connect_health(self, tenant) -> str:
        state = _cached(tenant, "connect_state")
        return state.status if state else "untracked"

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_last_sync_at(self, tenant):
        state = _cached(tenant, "connect_state")
        return (
            serializers.DateTimeField().to_representation(state.last_sync_at)
            if (state and state.last_sync_at)
            else None
        )

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_consent_lapses_at(self, tenant):
        token = _cached(tenant, "token")
        return (
            serializers.DateTimeField().to_representation(token.refresh_expires_at)
            if (token and token.refresh_expires_at)
            else None
        )


class TenantPageSerializer(serializers.Serializer):
    results = TenantSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class TenantCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=63)
    admin_email = serializers.EmailField(max_length=254)
    integration = serializers.PrimaryKeyRelatedField(
        queryset=Integration.objects.filter(is_active=True),
        help_text="The id of an active integration (GET /integrations/).",
    )
    grant_mode = serializers.ChoiceField(
        choices=Tenant.GrantMode.choices, default=Tenant.GrantMode.AUTHORIZATION_CODE
    )
    notes = serializers.CharField(
        max_length=NOTES_MAX_LENGTH, required=False, allow_blank=True, default=""
    )


class TenantUpdateSerializer(TenantCreateSerializer):
    """Every field optional: only those sent change."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False
            field.default = serializers.empty


class TenantOffboardSerializer(StrictSerializer):
    force = serializers.BooleanField(
        default=False,
        help_text="Forget the tokens even if removing our Connect configurations from the "
        "client's account fails.",
    )


class OffboardResultSerializer(serializers.Serializer):
    tenant = TenantSerializer()
    problems = serializers.ListField(child=serializers.CharField())


class InviteCreateSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=Invite.Kind.choices, default=Invite.Kind.CONSENT)


class InviteSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="invite.pk")
    tenant = serializers.IntegerField(source="invite.tenant_id")
    kind = serializers.ChoiceField(choices=Invite.Kind.choices, source="invite.kind")
    link = serializers.URLField(help_text="Give this to the client's admin; it grants consent.")
    expires_at = serializers.DateTimeField(source="invite.expires_at")
    sent_to = serializers.EmailField(source="invite.sent_to")
    emailed = serializers.BooleanField(help_text="False when the email could not be sent.")
