"""Shapes of the existing-clients import: the rows a partner sends and the answer per row."""

from rest_framework import serializers

from portal.api.pagination import StrictQuerySerializer
from portal.api.serializers.base import FieldErrorSerializer, StrictSerializer
from tenants.models import Integration, Tenant
from tenants.services.system_user import USER_ID_RE

_ACTIVE = Integration.objects.filter(is_active=True)


class ExistingClientImportQuerySerializer(StrictQuerySerializer):
    integration = serializers.PrimaryKeyRelatedField(
        queryset=_ACTIVE,
        required=False,
        help_text="The id of the integration for rows that name none (GET /integrations/).",
    )


class ExistingClientRowSerializer(StrictSerializer):
    """One client, the columns of the staff CSV upload (integration by id here)."""

    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=63)
    admin_email = serializers.EmailField(max_length=254)
    grant_mode = serializers.ChoiceField(
        choices=Tenant.GrantMode.choices,
        help_text="`acg` with `refresh_token`; `jwt` or `org_jwt` with `user_id`.",
        error_messages={"invalid_choice": "Use acg (refresh token), jwt or org_jwt (user id)."},
    )
    integration = serializers.PrimaryKeyRelatedField(
        queryset=_ACTIVE,
        required=False,
        help_text="The id of an active integration; the `integration` query parameter if absent.",
        error_messages={"does_not_exist": "No active integration has this id."},
    )
    account_id = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        default="",
        help_text="The DocuSign account to link; may be empty when the user has one account.",
    )
    refresh_token = serializers.CharField(
        max_length=8192,
        required=False,
        allow_blank=True,
        default="",
        write_only=True,
        style={"input_type": "password"},
        help_text="For `acg`: the refresh token you hold. Write-only: never in an answer or log.",
    )
    user_id = serializers.RegexField(
        USER_ID_RE.pattern,
        required=False,
        allow_blank=True,
        default="",
        help_text="For `jwt` and `org_jwt`: the DocuSign API user id (a GUID) to impersonate.",
        error_messages={"invalid": "The DocuSign API user id, a GUID."},
    )


class ImportedTenantSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    slug = serializers.CharField()
    status = serializers.ChoiceField(choices=Tenant.Status.choices)
    account_id = serializers.CharField(source="account.account_id")
    user_id = serializers.CharField(
        source="account.user_id", help_text="The DocuSign user whose grant was verified."
    )


class ImportRowResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The row's position in the request (from 0).")
    line = serializers.IntegerField(
        allow_null=True, help_text="For a text/csv body: the row's line in the file."
    )
    slug = serializers.CharField()
    status = serializers.ChoiceField(choices=["created", "failed"])
    tenant = ImportedTenantSerializer(allow_null=True, help_text="The tenant, when created.")
    errors = FieldErrorSerializer(
        many=True, help_text="When failed: the column at fault (`row` for none) and what to do."
    )


class ImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    failed = serializers.IntegerField()
    results = ImportRowResultSerializer(many=True)
