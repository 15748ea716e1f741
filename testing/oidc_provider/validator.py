import base64
import json

from jwcrypto import jwk, jwt
from oauth2_provider.oauth2_validators import OAuth2Validator

# Set by POST /_faults/: which part of the next ID tokens to get wrong.
FAULTS: dict[str, bool] = {}
_ROGUE_KEY = jwk.JWK.generate(kty="RSA", size=2048)


def _segment(value: str) -> str:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()


class FaultableValidator(OAuth2Validator):
    oidc_claim_scope = None  # every claim below, whatever the scopes

    def get_additional_claims(self, request):
        user = request.user
        claims = {"preferred_username": user.username, "email": user.email, "name": user.username}
        if not FAULTS.get("no_groups"):
            claims["groups"] = list(user.groups.values_list("name", flat=True))
        return claims

    def get_oidc_issuer_endpoint(self, request):
        if FAULTS.get("issuer"):
            return "https://impostor.example/o"
        return super().get_oidc_issuer_endpoint(request)

    def finalize_id_token(self, id_token, token, token_handler, request):
        if FAULTS.get("audience"):
            id_token["aud"] = "some-other-client"
        serialized = super().finalize_id_token(id_token, token, token_handler, request)
        if FAULTS.get("signature"):
            # Same header (and key id), same claims, signed by a key the JWKS does not publish.
            header, claims, _ = serialized.split(".")
            forged = jwt.JWT(header=_segment(header), claims=json.loads(_segment(claims)))
            forged.make_signed_token(_ROGUE_KEY)
            return forged.serialize()
        return serialized
