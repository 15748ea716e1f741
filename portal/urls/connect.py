"""URLs of the Connect pages."""

from django.urls import path

import portal.converters  # noqa: F401  (registers <id:>)
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
        "connect/templates/<id:template_id>/",
        connect.ConnectTemplateEditView.as_view(),
        name="connect-template-edit",
    ),
    path(
        "connect/templates/<id:template_id>/preview/",
        connect.ConnectTemplatePreviewView.as_view(),
        name="connect-template-preview",
    ),
    path(
        "connect/templates/<id:template_id>/tenants/",
        connect.ConnectTemplateAssignView.as_view(),
        name="connect-template-assign",
    ),
    path("connect/bulk/", connect.ConnectBulkView.as_view(), name="connect-bulk"),
    path("connect/oauth/", connect.PartnerOAuthView.as_view(), name="connect-partner-oauth"),
    path(
        "tenants/<id:tenant_id>/connect/sync/",
        connect.TenantConnectSyncView.as_view(),
        name="tenant-connect-sync",
    ),
]
