"""URLs of the Connect pages."""

from django.urls import path

from portal.views import connect

urlpatterns = [
    path(
        "connect/templates/",
        connect.ConnectTemplateListView.as_view(),
        name="connect-template-list",
    ),
    path(
        "connect/templates/new/",
        connect.ConnectTemplateCreateView.as_view(),
        name="connect-template-create",
    ),
    path(
        "connect/templates/<int:template_id>/",
        connect.ConnectTemplateEditView.as_view(),
        name="connect-template-edit",
    ),
    path(
        "connect/templates/<int:template_id>/preview/",
        connect.ConnectTemplatePreviewView.as_view(),
        name="connect-template-preview",
    ),
    path(
        "connect/templates/<int:template_id>/tenants/",
        connect.ConnectTemplateAssignView.as_view(),
        name="connect-template-assign",
    ),
    path("connect/bulk/", connect.ConnectBulkView.as_view(), name="connect-bulk"),
    path("connect/oauth/", connect.PartnerOAuthView.as_view(), name="connect-partner-oauth"),
    path(
        "tenants/<int:tenant_id>/connect/sync/",
        connect.TenantConnectSyncView.as_view(),
        name="tenant-connect-sync",
    ),
]
