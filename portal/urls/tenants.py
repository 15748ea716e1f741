"""URLs of the integrations and tenants pages (register, edit, invite, import, offboard)."""

from django.urls import path

import portal.converters  # noqa: F401  (registers <id:>)
from portal.views import integrations, tenants

urlpatterns = [
    path("integrations/", integrations.IntegrationListView.as_view(), name="integration-list"),
    path(
        "integrations/new/",
        integrations.IntegrationCreateView.as_view(),
        name="integration-create",
    ),
    path(
        "integrations/<id:integration_id>/",
        integrations.IntegrationEditView.as_view(),
        name="integration-edit",
    ),
    path(
        "integrations/<id:integration_id>/generate-key/",
        integrations.IntegrationGenerateKeyView.as_view(),
        name="integration-generate-key",
    ),
    path("tenants/new/", tenants.TenantCreateView.as_view(), name="tenant-create"),
    path("tenants/import/", tenants.TenantImportView.as_view(), name="tenant-import"),
    path(
        "tenants/import-existing/",
        tenants.ExistingClientImportView.as_view(),
        name="tenant-import-existing",
    ),
    path("tenants/export.csv", tenants.TenantExportView.as_view(), name="tenant-export"),
    path("tenants/<id:tenant_id>/edit/", tenants.TenantEditView.as_view(), name="tenant-edit"),
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
        "tenants/<id:tenant_id>/invite/", tenants.TenantInviteView.as_view(), name="tenant-invite"
    ),
    path(
        "tenants/<id:tenant_id>/system-user/",
        tenants.TenantSystemUserView.as_view(),
        name="tenant-system-user",
    ),
    path(
        "tenants/<id:tenant_id>/offboard/",
        tenants.TenantOffboardView.as_view(),
        name="tenant-offboard",
    ),
]
