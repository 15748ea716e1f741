"""Staff pages for the partner's API keys: list, create (the secret shown once), revoke."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.views import View

from accounts.roles import Perm
from apikeys.models import ApiKey
from apikeys.selectors import api_key_get, api_key_list
from apikeys.services.keys import api_key_create, api_key_revoke
from portal.forms.api_keys import ApiKeyCreateForm
from portal.views.mixins import FormPageView, StaffRequiredMixin


class ApiKeyListView(StaffRequiredMixin, FormPageView):
    template_name = "portal/api_keys.html"
    permission = Perm.MANAGE_API_KEYS
    form_class = ApiKeyCreateForm

    def get_context_data(self, **kwargs):
        return super().get_context_data(keys=api_key_list(), **kwargs)

    def form_valid(self, form):
        issued = api_key_create(
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            expires_at=form.expires_at(),
            actor=self.request.user,
            request=self.request,
        )
        # Rendered, not redirected: the secret must not travel through the session's messages.
        response = self.render_to_response(
            self.get_context_data(issued=issued, form=ApiKeyCreateForm()), status=201
        )
        response["Cache-Control"] = "no-store"
        return response


class ApiKeyRevokeView(StaffRequiredMixin, View):
    permission = Perm.MANAGE_API_KEYS

    def post(self, request, key_id):
        try:
            api_key = api_key_get(key_id=key_id)
        except ApiKey.DoesNotExist:
            raise Http404("No such API key.") from None
        api_key_revoke(api_key=api_key, actor=request.user, request=request)
        messages.success(request, f"The key “{api_key.name}” (ppk_{api_key.prefix}) was revoked.")
        return redirect("api-key-list")
