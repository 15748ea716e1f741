"""URLs of the fleet pages: dashboard, tenant list and page, bulk operations."""

from django.urls import path

from portal.views import alerts, dashboard, fleet

urlpatterns = [
    path("", dashboard.DashboardView.as_view(), name="dashboard"),
    path("tenants/", fleet.TenantListView.as_view(), name="tenant-list"),
    path("tenants/<int:tenant_id>/", fleet.TenantDetailView.as_view(), name="tenant-detail"),
    path(
        "tenants/<int:tenant_id>/alerts/mute/",
        alerts.TenantAlertMuteView.as_view(),
        name="tenant-alert-mute",
    ),
    path("bulk/", fleet.BulkStartView.as_view(), name="bulk-start"),
    path("bulk/<int:operation_id>/", fleet.BulkDetailView.as_view(), name="bulk-detail"),
    path(
        "bulk/<int:operation_id>/progress/",
        fleet.BulkProgressView.as_view(),
        name="bulk-progress",
    ),
]
