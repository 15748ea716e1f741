from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.utils.functional import cached_property
from django.views import View

from accounts.models import User
from accounts.roles import Perm
from accounts.selectors import (
    staff_mfa_factor_types,
    staff_mfa_required,
    staff_sessions_list,
    staff_user_list,
)
from accounts.services import (
    staff_mfa_reset,
    staff_sessions_end,
    staff_user_create,
    staff_user_update,
)
from portal.forms.staff import StaffCreateForm, StaffUpdateForm
from portal.views.mixins import FormPageView, StaffRequiredMixin


class StaffListView(StaffRequiredMixin, FormPageView):
    template_name = "portal/staff_list.html"
    action_permission = Perm.MANAGE_STAFF
    form_class = StaffCreateForm

    def get_context_data(self, **kwargs):
        return super().get_context_data(users=staff_user_list(), **kwargs)

    def form_valid(self, form):
        request = self.request
        user = staff_user_create(actor=request.user, request=request, **form.cleaned_data)
        messages.success(
            request, f"Staff member {user.username} was added as {user.get_role_display()}."
        )
        return redirect("staff-list")


class StaffDetailView(StaffRequiredMixin, FormPageView):
    template_name = "portal/staff_detail.html"
    action_permission = Perm.MANAGE_STAFF
    form_class = StaffUpdateForm

    @cached_property
    def member(self) -> User:
        return get_object_or_404(User, pk=self.kwargs["user_id"])

    def get_initial(self):
        return {"role": self.member.role, "is_active": self.member.is_active}

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            member=self.member,
            factors=staff_mfa_factor_types(self.member),
            mfa_required=staff_mfa_required(self.member),
            sessions=staff_sessions_list(self.member),
            **kwargs,
        )

    def form_valid(self, form):
        request = self.request
        try:
            staff_user_update(
                actor=request.user, user=self.member, request=request, **form.cleaned_data
            )
        except ValueError as exc:
            return self.form_refused(form, str(exc))
        messages.success(request, f"{self.member.username} was updated.")
        return redirect("staff-detail", user_id=self.member.pk)


class StaffSessionsEndView(StaffRequiredMixin, View):
    """An owner signs a staff member out of every browser."""

    action_permission = Perm.MANAGE_STAFF

    def post(self, request, user_id):
        member = get_object_or_404(User, pk=user_id)
        ended = staff_sessions_end(
            actor=request.user,
            user=member,
            reason="ended by an owner",
            keep_session_key=request.session.session_key or "",
            request=request,
        )
        messages.success(request, f"{ended} session(s) of {member.username} ended.")
        return redirect("staff-detail", user_id=member.pk)


class StaffMFAResetView(StaffRequiredMixin, View):
    """An owner recovers a staff member who lost every second factor."""

    action_permission = Perm.MANAGE_STAFF

    def post(self, request, user_id):
        member = get_object_or_404(User, pk=user_id)
        try:
            staff_mfa_reset(actor=request.user, user=member, request=request)
        except ValueError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                f"{member.username}'s second factors were removed and their sessions ended; "
                "they enrol again at their next sign-in.",
            )
        return redirect("staff-detail", user_id=member.pk)
