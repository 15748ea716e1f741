"""The shape of a tenant's status: consent, token health, Connect state per template, delivery
health and "needs a human" reasons (see portal/api/status.py for where each comes from)."""

from rest_framework import serializers

from portal.api.serializers.tenants import CONNECT_HEALTH_VALUES
from tenants.models import Invite, Tenant

LEVELS = ["ok", "info", "warn", "bad", "idle"]


class InviteStatusSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Invite.Kind.choices)
    state = serializers.CharField(help_text="Where the invite stands, in words.")
    usable = serializers.BooleanField(help_text="The link still works.")
    sent_to = serializers.CharField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)
    opened_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)


class ConsentStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Tenant.Status.choices)
    status_reason = serializers.CharField()
    status_changed_at = serializers.DateTimeField()
    archived = serializers.BooleanField()
    invite = InviteStatusSerializer(allow_null=True)
    account_id = serializers.CharField(help_text="Empty until the admin consented.")
    account_name = serializers.CharField()
    consented_by = serializers.CharField()
    consented_at = serializers.DateTimeField(allow_null=True)
    scopes = serializers.CharField()


class TokenStatusSerializer(serializers.Serializer):
    health = serializers.CharField(help_text="In words, e.g. 'Healthy' or 'Needs re-consent'.")
    level = serializers.ChoiceField(choices=LEVELS)
    has_tokens = serializers.BooleanField()
    access_expires_at = serializers.DateTimeField(allow_null=True)
    refresh_expires_at = serializers.DateTimeField(allow_null=True)
    refreshed_at = serializers.DateTimeField(allow_null=True)
    failure_count = serializers.IntegerField()
    last_error_code = serializers.CharField()
    lapse_warning = serializers.BooleanField()


class ConnectTemplateStateSerializer(serializers.Serializer):
    name = serializers.CharField()
    config_name = serializers.CharField(help_text="The configuration's name on DocuSign.")
    version = serializers.IntegerField(help_text="The template's current version.")
    carried_version = serializers.IntegerField(
        allow_null=True, help_text="The version the account carries (null: never pushed)."
    )
    up_to_date = serializers.BooleanField()
    connect_id = serializers.CharField()
    overridden = serializers.BooleanField()


class ConnectStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=CONNECT_HEALTH_VALUES)
    last_sync_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField()
    consecutive_failures = serializers.IntegerField()
    queued = serializers.BooleanField(help_text="A sync is waiting to run.")
    templates = ConnectTemplateStateSerializer(many=True)


class DeliveryStatusSerializer(serializers.Serializer):
    last_event_at = serializers.DateTimeField(allow_null=True)
    events_total = serializers.IntegerField()
    events_14_days = serializers.IntegerField()
    failures_count = serializers.IntegerField(
        allow_null=True,
        help_text=(
            "Failed deliveries DocuSign reported for this tenant that have not arrived since "
            "(null: the failure log was never read)."
        ),
    )
    failures_checked_at = serializers.DateTimeField(
        allow_null=True, help_text="When the portal last read DocuSign's failure log."
    )
    failures_error = serializers.CharField(
        help_text="Why the last read of the failure log failed (empty when it worked)."
    )


class AttentionSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    reason = serializers.CharField()


class TenantStatusSerializer(serializers.Serializer):
    tenant = serializers.IntegerField()
    slug = serializers.CharField()
    consent = ConsentStatusSerializer()
    token = TokenStatusSerializer()
    connect = ConnectStatusSerializer()
    delivery = DeliveryStatusSerializer()
    needs_human = AttentionSerializer(many=True)
