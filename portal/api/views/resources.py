"""Integrations, Connect templates and assignments, a tenant's sync, events and bulk operations
through the API."""

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from apikeys.models import Scope
from common.bulk import bulk_kinds_registered, bulk_operation_start
from common.models import BulkOperation
from common.selectors import bulk_operation_get
from connect.models import ConnectTemplate
from connect.selectors import (
    connect_assignment_list,
    connect_template_current_settings,
    connect_template_get,
    connect_template_list,
)
from connect.services.sync import connect_sync_request
from connect.services.templates import (
    AssignmentRuleError,
    connect_assignment_add,
    connect_assignment_remove,
)
from events.models import ConnectEvent
from events.selectors import connect_event_list, payload_for_display
from portal.api.base import ApiView
from portal.api.pagination import PageQuerySerializer, cursor_page, query_params
from portal.api.problems import conflict, invalid
from portal.api.serializers.other import (
    AssignmentCreateSerializer,
    AssignmentPageSerializer,
    AssignmentSerializer,
    BulkOperationSerializer,
    BulkStartSerializer,
    ConnectTemplateDetailSerializer,
    ConnectTemplatePageSerializer,
    ConnectTemplateSerializer,
    EventDetailSerializer,
    EventListQuerySerializer,
    EventPageSerializer,
    EventSerializer,
    IntegrationPageSerializer,
    IntegrationSerializer,
    SyncRequestedSerializer,
)
from tenants.models import Tenant
from tenants.selectors.fleet import tenant_fleet_ids
from tenants.selectors.tenants import integration_list, tenant_get

BY_ID = [("pk", False)]
NEWEST_FIRST = [("received_at", True), ("pk", True)]


def _page(queryset, serializer_class, request, *, order=BY_ID, sort_name="id") -> Response:
    params = query_params(PageQuerySerializer, request)
    rows, next_cursor = cursor_page(
        queryset,
        order=order,
        sort_name=sort_name,
        cursor=params.get("cursor"),
        limit=params["limit"],
    )
    return Response({"results": serializer_class(rows, many=True).data, "next_cursor": next_cursor})


def _template(template_id: int) -> ConnectTemplate:
    try:
        return connect_template_get(template_id=template_id)
    except ConnectTemplate.DoesNotExist:
        raise NotFound("No Connect template has this id.") from None


def _tenant(tenant_id: int) -> Tenant:
    try:
        return tenant_get(tenant_id=tenant_id)
    except Tenant.DoesNotExist:
        raise NotFound("No tenant has this id.") from None


class IntegrationListView(ApiView):
    required_scopes = {"GET": Scope.TENANTS_READ}

    @extend_schema(
        operation_id="integrations_list",
        summary="List integrations",
        description="The integration keys tenants are registered under. Never a secret: only "
        "whether one is set.",
        parameters=[PageQuerySerializer],
        responses={200: IntegrationPageSerializer},
    )
    def get(self, request):
        return _page(integration_list(), IntegrationSerializer, request)


class IntegrationDetailView(ApiView):
    required_scopes = {"GET": Scope.TENANTS_READ}

    @extend_schema(
        operation_id="integrations_get",
        summary="Get an integration",
        responses={200: IntegrationSerializer},
    )
    def get(self, request, integration_id: int):
        integration = integration_list().filter(pk=integration_id).first()
        if integration is None:
            raise NotFound("No integration has this id.")
        return Response(IntegrationSerializer(integration).data)


class ConnectTemplateListView(ApiView):
    required_scopes = {"GET": Scope.CONNECT_READ}

    @extend_schema(
        operation_id="connect_templates_list",
        summary="List Connect templates",
        parameters=[PageQuerySerializer],
        responses={200: ConnectTemplatePageSerializer},
    )
    def get(self, request):
        return _page(connect_template_list(), ConnectTemplateSerializer, request)


class ConnectTemplateDetailView(ApiView):
    required_scopes = {"GET": Scope.CONNECT_READ}

    @extend_schema(
        operation_id="connect_templates_get",
        summary="Get a Connect template with its current settings",
        responses={200: ConnectTemplateDetailSerializer},
    )
    def get(self, request, template_id: int):
        template = _template(template_id)
        template.settings = connect_template_current_settings(template=template)
        return Response(ConnectTemplateDetailSerializer(template).data)


class AssignmentListView(ApiView):
    required_scopes = {"GET": Scope.CONNECT_READ, "POST": Scope.CONNECT_WRITE}

    @extend_schema(
        operation_id="connect_assignments_list",
        summary="List a template's assignments",
        description="For a 'chosen tenants' template, the tenants it applies to; for an 'all "
        "tenants' template, the tenants with overrides.",
        parameters=[PageQuerySerializer],
        responses={200: AssignmentPageSerializer},
    )
    def get(self, request, template_id: int):
        template = _template(template_id)
        return _page(
            connect_assignment_list(template=template),
            AssignmentSerializer,
            request,
            order=[("tenant_id", False)],
            sort_name="tenant",
        )

    @extend_schema(
        operation_id="connect_assignments_create",
        summary="Assign a tenant to a template",
        description="Only 'chosen tenants' templates take assignments (409 otherwise); the tenant "
        "must be of the template's integration. Assigning twice changes nothing.",
        request=AssignmentCreateSerializer,
        responses={201: AssignmentSerializer},
    )
    def post(self, request, template_id: int):
        template = _template(template_id)
        serializer = AssignmentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tenant = Tenant.objects.filter(pk=serializer.validated_data["tenant"]).first()
        if tenant is None:
            raise invalid({"tenant": ["No tenant has this id."]})
        try:
            assignment = connect_assignment_add(template=template, tenant=tenant, request=request)
        except AssignmentRuleError as exc:
            raise conflict(str(exc)) from None
        return Response(AssignmentSerializer(assignment).data, status=201)


class AssignmentDetailView(ApiView):
    required_scopes = {"DELETE": Scope.CONNECT_WRITE}

    @extend_schema(
        operation_id="connect_assignments_delete",
        summary="Unassign a tenant from a template",
        responses={204: None},
    )
    def delete(self, request, template_id: int, tenant_id: int):
        template = _template(template_id)
        try:
            removed = connect_assignment_remove(
                template=template, tenant=_tenant(tenant_id), request=request
            )
        except AssignmentRuleError as exc:
            raise conflict(str(exc)) from None
        if not removed:
            raise NotFound("This tenant is not assigned to this template.")
        return Response(status=204)


class TenantSyncView(ApiView):
    required_scopes = {"POST": Scope.CONNECT_WRITE}

    @extend_schema(
        operation_id="tenants_sync",
        summary="Sync a tenant's Connect configuration now",
        description="Queues a reconcile; read the outcome in the tenant's status.",
        request=None,
        responses={202: SyncRequestedSerializer},
    )
    def post(self, request, tenant_id: int):
        tenant = _tenant(tenant_id)
        if tenant.is_archived or tenant.status == Tenant.Status.OFFBOARDED:
            raise conflict("An archived or offboarded tenant is not synced.")
        connect_sync_request(tenant=tenant, actor=None, request=request)
        return Response({"tenant": tenant.pk, "queued": True}, status=202)


class EventListView(ApiView):
    required_scopes = {"GET": Scope.EVENTS_READ}

    @extend_schema(
        operation_id="events_list",
        summary="List Connect events, newest first",
        parameters=[EventListQuerySerializer],
        responses={200: EventPageSerializer},
    )
    def get(self, request):
        params = query_params(EventListQuerySerializer, request)
        events = connect_event_list(
            tenant_id=params.get("tenant"),
            event=params.get("event", ""),
            envelope_id=params.get("envelope_id", ""),
        )
        rows, next_cursor = cursor_page(
            events,
            order=NEWEST_FIRST,
            sort_name="-received",
            cursor=params.get("cursor"),
            limit=params["limit"],
        )
        return Response(
            {"results": EventSerializer(rows, many=True).data, "next_cursor": next_cursor}
        )


class EventDetailView(ApiView):
    required_scopes = {"GET": Scope.EVENTS_READ}

    @extend_schema(
        operation_id="events_get", summary="Get an event", responses={200: EventDetailSerializer}
    )
    def get(self, request, event_id: int):
        event = ConnectEvent.objects.filter(pk=event_id).first()
        if event is None:
            raise NotFound("No event has this id.")
        event.payload = payload_for_display(event.payload)
        return Response(EventDetailSerializer(event).data)


class BulkStartView(ApiView):
    required_scopes = {"POST": Scope.BULK_WRITE}

    @extend_schema(
        operation_id="bulk_start",
        summary="Start a bulk operation",
        description="One action over the tenants in `tenant_ids` that match `filter` (the tenant "
        "list's filters); runs one task per tenant. Poll the operation for progress.",
        request=BulkStartSerializer,
        responses={202: BulkOperationSerializer},
    )
    def post(self, request):
        serializer = BulkStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["kind"] not in bulk_kinds_registered():
            raise invalid({"kind": ["This kind of operation is not available here."]})
        filters = data.get("filter", {})
        tenants = tenant_fleet_ids(
            q=filters.get("q", ""),
            status=filters.get("status", ""),
            integration_id=filters.get("integration"),
            health=filters.get("health", ""),
            attention=filters.get("attention", ""),
        )
        if "tenant_ids" in data:
            wanted = set(data["tenant_ids"])
            tenants = [(pk, name) for pk, name in tenants if pk in wanted]
        operation = bulk_operation_start(
            kind=data["kind"], tenants=tenants, actor=None, request=request
        )
        return Response(BulkOperationSerializer(operation).data, status=202)


class BulkDetailView(ApiView):
    required_scopes = {"GET": Scope.BULK_WRITE}

    @extend_schema(
        operation_id="bulk_get",
        summary="A bulk operation's progress",
        responses={200: BulkOperationSerializer},
    )
    def get(self, request, operation_id: int):
        try:
            operation = bulk_operation_get(operation_id=operation_id)
        except BulkOperation.DoesNotExist:
            raise NotFound("No bulk operation has this id.") from None
        return Response(BulkOperationSerializer(operation).data)
