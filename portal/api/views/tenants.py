"""Tenants through the API: list, create, get, update, archive, unarchive, offboard, invite, status.
Each view translates: validate, call one service or selector, shape the answer."""

from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework.response import Response

from apikeys.models import Scope
from portal.api.base import ActionView, ApiView, ObjectView, PageView, object_or_404
from portal.api.problems import conflict
from portal.api.serializers.status import TenantStatusSerializer
from portal.api.serializers.tenants import (
    TENANT_SORTS,
    InviteCreateSerializer,
    InviteSerializer,
    OffboardResultSerializer,
    TenantCreateSerializer,
    TenantListQuerySerializer,
    TenantOffboardSerializer,
    TenantPageSerializer,
    TenantSerializer,
    TenantUpdateSerializer,
)
from portal.api.status import tenant_api_status
from portal.services.offboarding import OffboardIncomplete, tenant_offboard
from tenants.models import Tenant
from tenants.selectors.fleet import tenant_fleet_list, tenant_for_page
from tenants.selectors.tenants import invite_link
from tenants.services.invites import invite_send
from tenants.services.tenants import (
    TenantRuleError,
    tenant_archive,
    tenant_create,
    tenant_unarchive,
    tenant_update,
)

TENANT_EXAMPLE = {
    "id": 42,
    "name": "Northwind Traders",
    "slug": "northwind",
    "admin_email": "nora.admin@northwind.example",
    "integration": 1,
    "integration_name": "Local emulator",
    "grant_mode": "acg",
    "notes": "",
    "status": "invited",
    "status_reason": "Consent invite sent",
    "status_changed_at": "2026-12-03T10:00:00Z",
    "archived": False,
    "archived_at": None,
    "created_at": "2026-12-03T09:59:00Z",
    "updated_at": "2026-12-03T10:00:00Z",
    "account": None,
    "connect_health": "untracked",
    "last_sync_at": None,
    "consent_lapses_at": None,
}


def _tenant(tenant_id: int) -> Tenant:
    """The tenant with every one-to-one neighbour joined (one query), or 404."""
    return object_or_404(tenant_for_page, "No tenant has this id.", tenant_id=tenant_id)


def _fresh(tenant: Tenant) -> dict:
    return TenantSerializer(tenant_for_page(tenant_id=tenant.pk)).data


@extend_schema_view(
    get=extend_schema(
        operation_id="tenants_list",
        summary="List tenants",
        description="Filters match the staff tenant list. Archived tenants appear only with "
        "`status=archived`. Follow `next_cursor` for the next page.",
        parameters=[TenantListQuerySerializer],
        responses={200: TenantPageSerializer},
        examples=[
            OpenApiExample(
                "A page",
                value={"results": [TENANT_EXAMPLE], "next_cursor": None},
                response_only=True,
            )
        ],
    )
)
class TenantListView(PageView):
    required_scopes = {"GET": Scope.TENANTS_READ, "POST": Scope.TENANTS_WRITE}
    row_serializer = TenantSerializer
    query_serializer = TenantListQuerySerializer

    def keyset(self, params):
        return TENANT_SORTS[params["sort"]], params["sort"]

    def rows(self, params):
        return tenant_fleet_list(
            q=params.get("q", ""),
            status=params.get("status", ""),
            integration_id=params.get("integration"),
            health=params.get("health", ""),
            attention=params.get("attention", ""),
        )

    @extend_schema(
        operation_id="tenants_create",
        summary="Register a tenant",
        request=TenantCreateSerializer,
        responses={201: TenantSerializer},
        examples=[
            OpenApiExample(
                "Register",
                value={
                    "name": "Northwind Traders",
                    "slug": "northwind",
                    "admin_email": "nora.admin@northwind.example",
                    "integration": 1,
                },
                request_only=True,
            ),
            OpenApiExample("Registered", value=TENANT_EXAMPLE, response_only=True),
        ],
    )
    def post(self, request):
        serializer = TenantCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tenant = tenant_create(request=request, **serializer.validated_data)
        location = reverse("api:tenant-detail", kwargs={"tenant_id": tenant.pk})
        return Response(_fresh(tenant), status=201, headers={"Location": location})


@extend_schema_view(
    get=extend_schema(
        operation_id="tenants_get", summary="Get a tenant", responses={200: TenantSerializer}
    )
)
class TenantDetailView(ObjectView):
    required_scopes = {"GET": Scope.TENANTS_READ, "PATCH": Scope.TENANTS_WRITE}
    answer_serializer = TenantSerializer

    def get_object(self, tenant_id: int):
        return _tenant(tenant_id)

    @extend_schema(
        operation_id="tenants_update",
        summary="Change a tenant",
        description="Only the fields sent change. Moving a linked tenant to another integration "
        "is a 409: offboard it first.",
        request=TenantUpdateSerializer,
        responses={200: TenantSerializer},
        examples=[OpenApiExample("Rename", value={"name": "Northwind"}, request_only=True)],
    )
    def patch(self, request, tenant_id: int):
        tenant = self.get_object(tenant_id)
        serializer = TenantUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        try:
            tenant = tenant_update(tenant=tenant, request=request, **serializer.validated_data)
        except TenantRuleError as exc:
            raise conflict(str(exc)) from None
        return Response(_fresh(tenant))


class _TenantActionView(ActionView):
    required_scopes = {"POST": Scope.TENANTS_WRITE}
    refusals = (TenantRuleError,)

    def get_object(self, tenant_id: int):
        return _tenant(tenant_id)


@extend_schema_view(
    post=extend_schema(
        operation_id="tenants_archive",
        summary="Archive a tenant",
        description="Hides a tenant that was never linked (or was offboarded); its invite links "
        "stop working. A tenant still linked to an account is a 409: offboard it first.",
        request=None,
        responses={200: TenantSerializer},
    )
)
class TenantArchiveView(_TenantActionView):
    def act(self, request, tenant):
        return Response(_fresh(tenant_archive(tenant=tenant, request=request)))


@extend_schema_view(
    post=extend_schema(
        operation_id="tenants_unarchive",
        summary="Unarchive a tenant",
        description="Old invite links stay dead: create a new invite.",
        request=None,
        responses={200: TenantSerializer},
    )
)
class TenantUnarchiveView(_TenantActionView):
    def act(self, request, tenant):
        return Response(_fresh(tenant_unarchive(tenant=tenant, request=request)))


class TenantOffboardView(ApiView):
    required_scopes = {"POST": Scope.TENANTS_WRITE}

    @extend_schema(
        operation_id="tenants_offboard",
        summary="Offboard a tenant",
        description="Removes the portal's Connect configurations from the client's account, then "
        "forgets the tokens and the link. If the cleanup fails the tokens are kept (409) unless "
        "`force` is true.",
        request=TenantOffboardSerializer,
        responses={200: OffboardResultSerializer},
    )
    def post(self, request, tenant_id: int):
        tenant = _tenant(tenant_id)
        serializer = TenantOffboardSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            problems = tenant_offboard(
                tenant=tenant, request=request, force=serializer.validated_data["force"]
            )
        except OffboardIncomplete as exc:
            raise conflict(
                "Removing our configuration from the client's DocuSign account failed, so the "
                f"tokens were kept; retry, or send force=true: {exc}"
            ) from None
        return Response({"tenant": _fresh(tenant), "problems": problems})


class TenantInviteView(ApiView):
    required_scopes = {"POST": Scope.INVITES_WRITE}

    @extend_schema(
        operation_id="invites_create",
        summary="Create (or resend) an invite",
        description="Issues a new invite link (older links stop working) and emails it to the "
        "tenant's admin. The link is in the answer: show it or mail it yourself. An archived "
        "or offboarded tenant is a 409.",
        request=InviteCreateSerializer,
        responses={201: InviteSerializer},
        examples=[
            OpenApiExample(
                "Invite",
                value={
                    "id": 7,
                    "tenant": 42,
                    "kind": "consent",
                    "link": "https://portal.partner.example/consent/eyJ0Ijo0Mn0:1v…/",
                    "expires_at": "2026-12-10T10:00:00Z",
                    "sent_to": "nora.admin@northwind.example",
                    "emailed": True,
                },
                response_only=True,
            )
        ],
    )
    def post(self, request, tenant_id: int):
        tenant = _tenant(tenant_id)
        serializer = InviteCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            sent = invite_send(
                tenant=tenant,
                kind=serializer.validated_data["kind"],
                actor_label=request.auth.label,
                request=request,
            )
        except ValueError as exc:
            raise conflict(str(exc)) from None
        data = {"invite": sent.invite, "link": invite_link(sent.invite), "emailed": sent.emailed}
        return Response(InviteSerializer(data).data, status=201)


@extend_schema_view(
    get=extend_schema(
        operation_id="tenants_status",
        summary="A tenant's status",
        description="Consent and invite, token health, Connect state per template, event "
        "delivery health and the reasons it needs a human, if any. Poll this after an invite.",
        responses={200: TenantStatusSerializer},
    )
)
class TenantStatusView(ObjectView):
    required_scopes = {"GET": Scope.TENANTS_READ}
    answer_serializer = TenantStatusSerializer

    def get_object(self, tenant_id: int):
        return tenant_api_status(tenant=_tenant(tenant_id))
