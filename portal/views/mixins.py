"""Access control for every staff page: sign-in, then one permission per view (and per action)."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import render

from accounts.roles import Perm
from common.models import AuditEvent
from common.services import audit_record

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
