from django.contrib import admin
from django.urls import include, path

from portal.views import api_keys, audit, auth, health, metrics, staff

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("accounts/login/", auth.StaffLoginView.as_view(), name="login"),
    path("accounts/logout/", auth.StaffLogoutView.as_view(), name="logout"),
    path("accounts/password/", auth.StaffPasswordChangeView.as_view(), name="password-change"),
    path("audit/", audit.AuditListView.as_view(), name="audit-list"),
    path("audit/export.csv", audit.AuditExportView.as_view(), name="audit-export"),
    path("staff/", staff.StaffListView.as_view(), name="staff-list"),
    path("staff/<int:user_id>/", staff.StaffDetailView.as_view(), name="staff-detail"),
    path("settings/api-keys/", api_keys.ApiKeyListView.as_view(), name="api-key-list"),
    path(
        "settings/api-keys/<int:key_id>/revoke/",
        api_keys.ApiKeyRevokeView.as_view(),
        name="api-key-revoke",
    ),
    path("", include("portal.urls.fleet")),  # dashboard, tenant list and page, bulk progress
    path("", include("portal.urls.tenants")),  # integrations, tenant register/edit/import, invites
    path("", include("portal.urls.consent")),  # public consent pages for client admins
    path("", include("portal.urls.tokens")),  # re-consent actions
    path("", include("portal.urls.connect")),  # Connect templates, partner OAuth, sync
    path("", include("portal.urls.events")),  # Connect event receiver and event browser
    path("api/v1/", include("portal.api.urls")),  # the partner REST API (namespace "api")
    path("admin/", admin.site.urls),
]
