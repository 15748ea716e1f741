from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.urls import reverse_lazy

from common.services import audit_record


class StaffLoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


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
