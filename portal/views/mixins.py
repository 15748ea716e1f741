"""Access control for every staff page: sign-in, then one permission per view (and per action)."""

from abc import ABC, abstractmethod
from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import FormView

from accounts.roles import Perm
from common.models import AuditEvent
from common.services import audit_record
from tenants.models import Tenant
from tenants.selectors.fleet import tenant_for_page

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class StaffRequiredMixin(LoginRequiredMixin):
    """Every staff view names `permission` (to look) and may name `action_permission` (to change).

    A refused action answers 403 and leaves an audit row; nothing else runs.
    """

    permission: Perm = Perm.VIEW
    action_permission: Perm | None = None

    def required_permission(self, method: str) -> Perm:
        if method in SAFE_METHODS or self.action_permission is None:
            return self.permission
        return self.action_permission

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        perm = self.required_permission(request.method)
        if not request.user.can(perm):
            audit_record(
                action="access.denied",
                actor=request.user,
                outcome=AuditEvent.Outcome.DENIED,
                message=f"{request.method} {request.path[:300]} needs '{perm}'",
                request=request,
            )
            return render(
                request,
                "403.html",
                {"needed": perm, "role": request.user.get_role_display()},
                status=403,
            )
        return super().dispatch(request, *args, **kwargs)


class TenantMixin(StaffRequiredMixin):
    """Tenant pages load the tenant once, with the neighbours the pages show (STYLE 14).

    `tenant` is loaded on first use inside the handler, so an unknown id answers 404 only to a
    user whom the permission check in `dispatch` already let through.
    """

    @cached_property
    def tenant(self) -> Tenant:
        try:
            return tenant_for_page(tenant_id=self.kwargs["tenant_id"])
        except Tenant.DoesNotExist:
            raise Http404("No such tenant.") from None

    def tenant_url(self) -> str:
        return reverse("tenant-detail", kwargs={"tenant_id": self.tenant.pk})


class TenantActionView(TenantMixin, View, ABC):
    """A button on a tenant page: POST, run one service in `act`, flash its outcome, redirect.

    The redirect goes to the form's `next` when it is one of our own paths, else the tenant page.
    """

    http_method_names = ["post"]

    @abstractmethod
    def act(self, request: HttpRequest) -> None:
        """Run the action's service and flash its outcome."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.act(request)
        return self.done(request)

    def done(self, request: HttpRequest) -> HttpResponse:
        target = request.POST.get("next", "")
        # Only our own pages: never an open redirect.
        if target.startswith("/") and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return redirect(target)
        return redirect(self.tenant_url())


class FormPageView(FormView):
    """A page with one form: GET shows it; POST validates it and hands it to `form_valid`, which
    calls one service. An invalid form, or one the service refuses (`form_refused`), is shown again
    with its errors, answering 400."""

    def form_invalid(self, form, **context):
        return self.render_to_response(self.get_context_data(form=form, **context), status=400)

    def form_refused(self, form, reason: str):
        """The service refused valid input: its reason shown as the form's error, answering 400."""
        form.add_error(None, reason)
        return self.form_invalid(form)
