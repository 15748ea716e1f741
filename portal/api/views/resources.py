"""Integrations, Connect templates and assignments, a tenant's sync, events and bulk operations
through the API."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from apikeys.models import Scope
from common.bulk import bulk_kinds_registered, bulk_operation_start
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
from portal.api.base import (
    ActionView,
    ApiView,
    ObjectView,
    PageView,
    object_or_404,
    tenant_or_404,
)
from portal.api.pagination import PageQuerySerializer
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
from tenants.selectors.tenants import integration_list


def _template(template_id: int) -> ConnectTemplate:
    return object_or_404(
        connect_template_get, "No Connect template has this id.", template_id=template_id
    )


@extend_schema_view(
    get=extend_schema(
        operation_id="integrations_list",
        summary="List integrations",
        description="The integration keys tenants are registered under. Never a secret: only "
        "whether one is set.",
        parameters=[PageQuerySerializer],
        responses={200: IntegrationPageSerializer},
    )
)
class IntegrationListView(PageView):
    required_scopes = {"GET": Scope.TENANTS_READ}
    row_serializer = IntegrationSerializer

    def rows(self, params):
        return integration_list()


@extend_schema_view(
    get=extend_schema(
        operation_id="integrations_get",
        summary="Get an integration",
        responses={200: IntegrationSerializer},
    )
)
class IntegrationDetailView(ObjectView):
    required_scopes = {"GET": Scope.TENANTS_READ}
    answer_serializer = IntegrationSerializer

    def get_object(self, integration_id: int):
        integration = integration_list().filter(pk=integration_id).first()
        if integration is None:
            raise NotFound("No integration has this id.")
        return integration


@extend_schema_view(
    get=extend_schema(
        operation_id="connect_templates_list",
        summary="List Connect templates",
        parameters=[PageQuerySerializer],
        responses={200: ConnectTemplatePageSerializer},
    )
)
class ConnectTemplateListView(PageView):
    required_scopes = {"GET": Scope.CONNECT_READ}
    row_serializer = ConnectTemplateSerializer

    def rows(self, params):
        return connect_template_list()


@extend_schema_view(
    get=extend_schema(
        operation_id="connect_templates_get",
        summary="Get a Connect template with its current settings",
        responses={200: ConnectTemplateDetailSerializer},
    )
)
class ConnectTemplateDetailView(ObjectView):
    required_scopes = {"GET": Scope.CONNECT_READ}
    answer_serializer = ConnectTemplateDetailSerializer

    def get_object(self, template_id: int):
        template = _template(template_id)
        template.settings = connect_template_current_settings(template=template)
        return template


@extend_schema_view(
    get=extend_schema(
        operation_id="connect_assignments_list",
        summary="List a template's assignments",
        description="For a 'chosen tenants' template, the tenants it applies to; for an 'all "
        "tenants' template, the tenants with overrides.",
        parameters=[PageQuerySerializer],
        responses={200: AssignmentPageSerializer},
    )
)
class AssignmentListView(PageView):
    required_scopes = {"GET": Scope.CONNECT_READ, "POST": Scope.CONNECT_WRITE}
    row_serializer = AssignmentSerializer
    order = [("tenant_id", False)]
    sort_name = "tenant"

    def rows(self, params, template_id: int):
        return connect_assignment_list(template=_template(template_id))

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
                template=template, tenant=tenant_or_404(tenant_id), request=request
            )
        except AssignmentRuleError as exc:
            raise conflict(str(exc)) from None
        if not removed:
            raise NotFound("This tenant is not assigned to this template.")
        return Response(status=204)


@extend_schema_view(
    post=extend_schema(
        operation_id="tenants_sync",
        summary="Sync a tenant's Connect configuration now",
        description="Queues a reconcile; read the outcome in the tenant's status.",
        request=None,
        responses={202: SyncRequestedSerializer},
    )
)
class TenantSyncView(ActionView):
    required_scopes = {"POST": Scope.CONNECT_WRITE}

    def get_object(self, tenant_id: int):
        return tenant_or_404(tenant_id)

    def act(self, request, tenant):
        if tenant.is_archived or tenant.status == Tenant.Status.OFFBOARDED:
            raise conflict("An archived or offboarded tenant is not synced.")
        connect_sync_request(tenant=tenant, actor=None, request=request)
        return Response({"tenant": tenant.pk, "queued": True}, status=202)


@extend_schema_view(
    get=extend_schema(
        operation_id="events_list",
        summary="List Connect events, newest first",
        parameters=[EventListQuerySerializer],
        responses={200: EventPageSerializer},
    )
)
class EventListView(PageView):
    required_scopes = {"GET": Scope.EVENTS_READ}
    row_serializer = EventSerializer
    query_serializer = EventListQuerySerializer
    order = [("received_at", True), ("pk", True)]
    sort_name = "-received"

    def rows(self, params):
        return connect_event_list(
            tenant_id=params.get("tenant"),
            event=params.get("event", ""),
            envelope_id=params.get("envelope_id", ""),
        )


@extend_schema_view(
    get=extend_schema(
        operation_id="events_get", summary="Get an event", responses={200: EventDetailSerializer}
    )
)
class EventDetailView(ObjectView):
    required_scopes = {"GET": Scope.EVENTS_READ}
    answer_serializer = EventDetailSerializer

    def get_object(self, event_id: int):
        event = ConnectEvent.objects.filter(pk=event_id).first()
        if event is None:
            raise NotFound("No event has this id.")
        event.payload = payload_for_display(event.payload)
        return event


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


@extend_schema_view(
    get=extend_schema(
        operation_id="bulk_get",
        summary="A bulk operation's progress",
        responses={200: BulkOperationSerializer},
    )
)
class BulkDetailView(ObjectView):
    required_scopes = {"GET": Scope.BULK_WRITE}
    answer_serializer = BulkOperationSerializer

    def get_object(self, operation_id: int):
        return object_or_404(
            bulk_operation_get, "No bulk operation has this id.", operation_id=operation_id
        )
