from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from portal.views import audit, auth, health, metrics, staff

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    # Browsers ask for /favicon.ico on pages without a <link rel="icon"> (JSON, the admin).
    path("favicon.ico", RedirectView.as_view(url=static("portal/favicon.svg"), permanent=True)),
    path("accounts/login/", auth.StaffLoginView.as_view(), name="login"),
    path("accounts/logout/", auth.StaffLogoutView.as_view(), name="logout"),
    path("accounts/password/", auth.StaffPasswordChangeView.as_view(), name="password-change"),
    path("audit/", audit.AuditListView.as_view(), name="audit-list"),
    path("audit/export.csv", audit.AuditExportView.as_view(), name="audit-export"),
    path("staff/", staff.StaffListView.as_view(), name="staff-list"),
    path("staff/<int:user_id>/", staff.StaffDetailView.as_view(), name="staff-detail"),
    path("", include("portal.urls.fleet")),  # dashboard, tenant list and page, bulk progress
    path("", include("portal.urls.tenants")),  # integrations, tenant register/edit/import, invites
    path("", include("portal.urls.consent")),  # public consent pages for client admins
    path("", include("portal.urls.tokens")),  # re-consent actions
    path("", include("portal.urls.connect")),  # Connect templates, partner OAuth, sync
    path("", include("portal.urls.events")),  # Connect event receiver and event browser
    path("admin/", admin.site.urls),
]
