"""URLs of the partner API, /api/v1/ (namespace `api`)."""

from django.urls import path, re_path

import portal.converters  # noqa: F401  (registers <id:>)
from portal.api.views import docs, envelope_notification, forwarding, recovery, resources, tenants
from portal.api.views.tenant_import import TenantImportView

app_name = "api"

urlpatterns = [
    path("schema/", docs.SchemaView.as_view(), name="schema"),
    path("docs/", docs.SwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", docs.RedocView.as_view(url_name="api:schema"), name="redoc"),
    path("tenants/", tenants.TenantListView.as_view(), name="tenant-list"),
    path("tenants/import/", TenantImportView.as_view(), name="tenant-import"),
    path("tenants/<id:tenant_id>/", tenants.TenantDetailView.as_view(), name="tenant-detail"),
    path(
        "tenants/<id:tenant_id>/archive/",
        tenants.TenantArchiveView.as_view(),
        name="tenant-archive",
    ),
    path(
        "tenants/<id:tenant_id>/unarchive/",
        tenants.TenantUnarchiveView.as_view(),
        name="tenant-unarchive",
    ),
    path(
        "tenants/<id:tenant_id>/offboard/",
        tenants.TenantOffboardView.as_view(),
        name="tenant-offboard",
    ),
    path("tenants/<id:tenant_id>/invites/", tenants.TenantInviteView.as_view(), name="invite"),
    path("tenants/<id:tenant_id>/status/", tenants.TenantStatusView.as_view(), name="status"),
    path("tenants/<id:tenant_id>/sync/", resources.TenantSyncView.as_view(), name="tenant-sync"),
    path(
        "tenants/<id:tenant_id>/event-notification/",
        envelope_notification.TenantEventNotificationView.as_view(),
        name="tenant-event-notification",
    ),
    path("integrations/", resources.IntegrationListView.as_view(), name="integration-list"),
    path(
        "integrations/<id:integration_id>/",
        resources.IntegrationDetailView.as_view(),
        name="integration-detail",
    ),
    path(
        "connect/templates/",
        resources.ConnectTemplateListView.as_view(),
        name="connect-template-list",
    ),
    path(
        "connect/templates/<id:template_id>/",
        resources.ConnectTemplateDetailView.as_view(),
        name="connect-template-detail",
    ),
    path(
        "connect/templates/<id:template_id>/assignments/",
        resources.AssignmentListView.as_view(),
        name="assignment-list",
    ),
    path(
        "connect/templates/<id:template_id>/assignments/<id:tenant_id>/",
        resources.AssignmentDetailView.as_view(),
        name="assignment-detail",
    ),
    path(
        "integrations/<id:integration_id>/destinations/",
        forwarding.DestinationListView.as_view(),
        name="destination-list",
    ),
    path(
        "destinations/<id:destination_id>/",
        forwarding.DestinationDetailView.as_view(),
        name="destination-detail",
    ),
    path(
        "destinations/<id:destination_id>/rotate-secret/",
        forwarding.DestinationSecretRotateView.as_view(),
        name="destination-rotate-secret",
    ),
    path(
        "destinations/<id:destination_id>/pause/",
        forwarding.DestinationPauseView.as_view(),
        name="destination-pause",
    ),
    path(
        "destinations/<id:destination_id>/resume/",
        forwarding.DestinationResumeView.as_view(),
        name="destination-resume",
    ),
    path(
        "destinations/<id:destination_id>/deliveries/",
        forwarding.DeliveryListView.as_view(),
        name="delivery-list",
    ),
    path(
        "destinations/<id:destination_id>/deliveries/<id:delivery_id>/replay/",
        forwarding.DeliveryReplayView.as_view(),
        name="delivery-replay",
    ),
    path(
        "destinations/<id:destination_id>/replay-dead/",
        forwarding.DeadReplayView.as_view(),
        name="destination-replay-dead",
    ),
    path(
        "destinations/<id:destination_id>/replay-tenant-events/",
        forwarding.TenantEventsReplayView.as_view(),
        name="destination-replay-tenant-events",
    ),
    path("events/", resources.EventListView.as_view(), name="event-list"),
    path("events/<id:event_id>/", resources.EventDetailView.as_view(), name="event-detail"),
    path("bulk-operations/", resources.BulkStartView.as_view(), name="bulk-start"),
    path(
        "bulk-operations/<id:operation_id>/",
        resources.BulkDetailView.as_view(),
        name="bulk-detail",
    ),
    path(
        "delivery-failures/republish/",
        recovery.RepublishView.as_view(),
        name="delivery-failures-republish",
    ),
    re_path(r"^[\s\S]*$", docs.NotFoundView.as_view(), name="not-found"),
]
