"""URLs of the fleet pages: dashboard, tenant list and page, bulk operations."""

from django.urls import path

import portal.converters  # noqa: F401  (registers <id:>)
from portal.views import alerts, dashboard, fleet

urlpatterns = [
    path("", dashboard.DashboardView.as_view(), name="dashboard"),
    path("tenants/", fleet.TenantListView.as_view(), name="tenant-list"),
    path("tenants/<id:tenant_id>/", fleet.TenantDetailView.as_view(), name="tenant-detail"),
    path(
        "tenants/<id:tenant_id>/alerts/mute/",
        alerts.TenantAlertMuteView.as_view(),
        name="tenant-alert-mute",
    ),
    path("bulk/", fleet.BulkStartView.as_view(), name="bulk-start"),
    path("bulk/<id:operation_id>/", fleet.BulkDetailView.as_view(), name="bulk-detail"),
    path(
        "bulk/<id:operation_id>/progress/",
        fleet.BulkProgressView.as_view(),
        name="bulk-progress",
    ),
]
