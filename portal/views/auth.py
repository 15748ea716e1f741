from allauth.account.app_settings import EmailVerificationMethod
from allauth.account.internal.flows.login import perform_password_login, record_authentication
from allauth.account.models import Login
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.urls import reverse, reverse_lazy

from common.services import audit_record
from portal.auth.forms import StaffLoginForm


class StaffLoginView(auth_views.LoginView):
    """Django's sign-in form (django-axes guards it), then allauth's login flow: a second-factor
    step for users who enrolled one, session tracking, and the enrolment step for those who must."""

    template_name = "registration/login.html"
    form_class = StaffLoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        # The password was checked a moment ago: enrolling a first factor right after signing in
        # must not ask for it again (allauth asks for a fresh one before changes to factors).
        record_authentication(self.request, user, method="password", reauthenticated=True)
        login = Login(
            user=user,
            redirect_url=self.get_success_url(),
            email_verification=EmailVerificationMethod.NONE,
        )
        return perform_password_login(self.request, {"username": user.get_username()}, login)

    def get_context_data(self, **kwargs):
        if settings.OIDC_ISSUER:
            kwargs["sso_login_url"] = reverse("openid_connect_login", args=["sso"])
            kwargs["sso_provider_name"] = settings.OIDC_PROVIDER_NAME
        kwargs["password_login_disabled"] = settings.PASSWORD_LOGIN_DISABLED
        return super().get_context_data(**kwargs)


class StaffLogoutView(auth_views.LogoutView):
    pass


class StaffPasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change.html"
    success_url = reverse_lazy("dashboard")

    def form_valid(self, form):
        response = super().form_valid(form)
        audit_record(
            action="auth.password_change",
            actor=self.request.user,
            target=self.request.user,
            request=self.request,
        )
        messages.success(self.request, "Your password was changed.")
        return response
