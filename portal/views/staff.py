from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.utils.functional import cached_property
from django.views.generic import TemplateView

from accounts.models import User
from accounts.roles import Perm
from accounts.selectors import staff_user_list
from accounts.services import staff_user_create, staff_user_update
from portal.forms.staff import StaffCreateForm, StaffUpdateForm
from portal.views.mixins import StaffRequiredMixin


class StaffListView(StaffRequiredMixin, TemplateView):
    template_name = "portal/staff_list.html"
    action_permission = Perm.MANAGE_STAFF

    def get_context_data(self, **kwargs):
        kwargs.setdefault("form", StaffCreateForm())
        return super().get_context_data(users=staff_user_list(), **kwargs)

    def post(self, request):
        form = StaffCreateForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        user = staff_user_create(actor=request.user, request=request, **form.cleaned_data)
        messages.success(
            request, f"Staff member {user.username} was added as {user.get_role_display()}."
        )
        return redirect("staff-list")


class StaffDetailView(StaffRequiredMixin, TemplateView):
    template_name = "portal/staff_detail.html"
    action_permission = Perm.MANAGE_STAFF

    @cached_property
    def member(self) -> User:
        return get_object_or_404(User, pk=self.kwargs["user_id"])

    def get_context_data(self, **kwargs):
        kwargs.setdefault(
            "form",
            StaffUpdateForm(initial={"role": self.member.role, "is_active": self.member.is_active}),
        )
        return super().get_context_data(member=self.member, **kwargs)

    def post(self, request, user_id):
        form = StaffUpdateForm(request.POST)
        if form.is_valid():
            try:
                staff_user_update(
                    actor=request.user, user=self.member, request=request, **form.cleaned_data
                )
            except ValueError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"{self.member.username} was updated.")
                return redirect("staff-detail", user_id=self.member.pk)
        return self.render_to_response(self.get_context_data(form=form), status=400)
