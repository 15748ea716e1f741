"""Staff sign-in: the portal's password form, allauth's second-factor, session and SSO pages.

allauth's own URL module is not included whole (it would add self sign-up, email management and
a second password form); its views are mounted here, under the names its code reverses."""

from allauth.account import views as account_views
from allauth.socialaccount import views as socialaccount_views
from django.urls import include, path

from portal.auth import oidc
from portal.views import auth

urlpatterns = [
    path("accounts/login/", auth.StaffLoginView.as_view(), name="login"),
    path("accounts/logout/", auth.StaffLogoutView.as_view(), name="logout"),
    path("accounts/password/", auth.StaffPasswordChangeView.as_view(), name="password-change"),
    # The same pages under the names allauth's views and templates reverse.
    path("accounts/login/", auth.StaffLoginView.as_view(), name="account_login"),
    path("accounts/logout/", auth.StaffLogoutView.as_view(), name="account_logout"),
    path(
        "accounts/password/",
        auth.StaffPasswordChangeView.as_view(),
        name="account_change_password",
    ),
    path(
        "accounts/reauthenticate/",
        account_views.reauthenticate,
        name="account_reauthenticate",
    ),
    path("accounts/2fa/", include("allauth.mfa.urls")),
    path("accounts/sessions/", include("allauth.usersessions.urls")),
    path("accounts/oidc/<str:provider_id>/login/", oidc.login, name="openid_connect_login"),
    path(
        "accounts/oidc/<str:provider_id>/login/callback/",
        oidc.callback,
        name="openid_connect_callback",
    ),
    path(
        "accounts/sso/cancelled/",
        socialaccount_views.login_cancelled,
        name="socialaccount_login_cancelled",
    ),
    path("accounts/sso/error/", socialaccount_views.login_error, name="socialaccount_login_error"),
]
