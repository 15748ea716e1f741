"""URLs of the token actions (tenant page buttons)."""

from django.urls import path

from portal.views import tokens

urlpatterns = [
    path(
        "tenants/<int:tenant_id>/reconsent/",
        tokens.TenantReconsentView.as_view(),
        name="tenant-reconsent",
    ),
    path(
        "tenants/<int:tenant_id>/tokens/refresh/",
        tokens.TenantTokenRefreshView.as_view(),
        name="tenant-token-refresh",
    ),
]
