"""allauth's OpenID Connect provider with two checks it leaves out: a nonce bound to the
sign-in, and the ID token's signature verified even when it came straight from the token
endpoint (the spec allows skipping it over TLS; a security review does not)."""

from allauth.account.internal.decorators import login_not_required
from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from django.http import Http404
from django.utils.crypto import get_random_string


class StaffOIDCAdapter(OpenIDConnectOAuth2Adapter):
    def complete_login(self, request, app, token, **kwargs):
        configured = app.settings["server_url"].rstrip("/")
        if str(self.openid_config.get("issuer", "")).rstrip("/") != configured:
            raise OAuth2Error(f"the discovery document does not name {configured} as issuer")
        if not kwargs["response"].get("id_token"):
            raise OAuth2Error("the token response holds no ID token")
        return super().complete_login(request, app, token, **kwargs)

    def _decode_id_token(self, app, id_token: str) -> dict:
        try:
            return jwtkit.verify_and_decode(
                credential=id_token,
                keys_url=self.openid_config["jwks_uri"],
                issuer=self.openid_config["issuer"],
                audience=app.client_id,
                lookup_kid=jwtkit.lookup_kid_jwk,
                verify_signature=True,
            )
        except OAuth2Error as exc:
            # allauth says "Invalid id_token"; PyJWT's reason (issuer, audience, signature) helps.
            cause = f": {exc.__cause__}" if exc.__cause__ else ""
            raise OAuth2Error(f"invalid ID token{cause}") from exc


class StaffOIDCProvider(OpenIDConnectProvider):
    oauth2_adapter_class = StaffOIDCAdapter

    def get_oauth2_adapter(self, request):
        return StaffOIDCAdapter(request, self.app.provider_id)

    def redirect(self, request, process, next_url=None, data=None, **kwargs):
        nonce = get_random_string(32)
        auth_params = kwargs.pop("auth_params", None) or self.get_auth_params()
        auth_params["nonce"] = nonce
        # The nonce is stashed with the state and compared by accounts.sso.sso_claims_check.
        return super().redirect(
            request, process, next_url, data, auth_params=auth_params, nonce=nonce, **kwargs
        )


@login_not_required
def login(request, provider_id):
    try:
        return OAuth2LoginView.adapter_view(StaffOIDCAdapter(request, provider_id))(request)
    except SocialApp.DoesNotExist:
        raise Http404 from None


@login_not_required
def callback(request, provider_id):
    try:
        return OAuth2CallbackView.adapter_view(StaffOIDCAdapter(request, provider_id))(request)
    except SocialApp.DoesNotExist:
        raise Http404 from None
