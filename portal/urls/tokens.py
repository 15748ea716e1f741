"""URLs of the token actions (tenant page buttons)."""

from django.urls import path

import portal.converters  # noqa: F401  (registers <id:>)
from portal.views import tokens

urlpatterns = [
    path(
        "tenants/<id:tenant_id>/reconsent/",
        tokens.TenantReconsentView.as_view(),
        name="tenant-reconsent",
    ),
    path(
        "tenants/<id:tenant_id>/tokens/refresh/",
        tokens.TenantTokenRefreshView.as_view(),
        name="tenant-token-refresh",
    ),
]
