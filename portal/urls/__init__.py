from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

import portal.converters  # noqa: F401  (registers <id:> before any pattern)
from portal.views import api_keys, audit, health, metrics, staff

# The admin signs people in through the portal's sign-in (second factor included), not its own form.
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    # Browsers ask for /favicon.ico on pages without a <link rel="icon"> (JSON, the admin).
    path("favicon.ico", RedirectView.as_view(url=static("portal/favicon.svg"), permanent=True)),
    path("", include("portal.urls.auth")),  # sign-in, second factors, sessions, SSO
    path("audit/", audit.AuditListView.as_view(), name="audit-list"),
    path("audit/export.csv", audit.AuditExportView.as_view(), name="audit-export"),
    path("staff/", staff.StaffListView.as_view(), name="staff-list"),
    path("staff/<id:user_id>/", staff.StaffDetailView.as_view(), name="staff-detail"),
    path(
        "staff/<id:user_id>/sessions/end/",
        staff.StaffSessionsEndView.as_view(),
        name="staff-sessions-end",
    ),
    path(
        "staff/<id:user_id>/mfa/reset/", staff.StaffMFAResetView.as_view(), name="staff-mfa-reset"
    ),
    path("settings/api-keys/", api_keys.ApiKeyListView.as_view(), name="api-key-list"),
    path(
        "settings/api-keys/<id:key_id>/revoke/",
        api_keys.ApiKeyRevokeView.as_view(),
        name="api-key-revoke",
    ),
    path("", include("portal.urls.fleet")),  # dashboard, tenant list and page, bulk progress
    path("", include("portal.urls.tenants")),  # integrations, tenant register/edit/import, invites
    path("", include("portal.urls.consent")),  # public consent pages for client admins
    path("", include("portal.urls.tokens")),  # re-consent actions
    path("", include("portal.urls.connect")),  # Connect templates, partner OAuth, sync
    path("", include("portal.urls.events")),  # Connect event receiver and event browser
    path("", include("portal.urls.recovery")),  # delivery failures, republish, completeness
    path("", include("portal.urls.forwarding")),  # destinations of forwarded events
    path("api/v1/", include("portal.api.urls")),  # the partner REST API (namespace "api")
    path("admin/", admin.site.urls),
]
