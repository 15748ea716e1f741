import re

import pytest

from docusign_api import DocuSignClient, code_challenge, new_pkce

RFC7636_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
# RFC 7636 Appendix B. (The issue quoted "...K1t7URW-Cs1Za3H5sM", which is not the RFC's value:
# base64url(SHA-256) of this verifier is the string below, as printed in the RFC.)
RFC7636_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_challenge_matches_rfc7636_appendix_b():
    assert code_challenge(RFC7636_VERIFIER) == RFC7636_CHALLENGE


def test_new_pkce_draws_a_fresh_long_verifier_and_its_s256_challenge():
    first, second = new_pkce(), new_pkce()

    assert re.fullmatch(r"[A-Za-z0-9\-._~]{43,128}", first.verifier)
    assert first.verifier != second.verifier
    assert first.challenge == code_challenge(first.verifier)
    assert "=" not in first.challenge
    assert first.method == "S256"


def test_pkce_repr_hides_the_verifier():
    pkce = new_pkce()

    assert pkce.verifier not in repr(pkce)


def test_client_offers_new_pkce():
    client = DocuSignClient(auth_base_url="https://account-d.docusign.com")

    pkce = client.oauth.new_pkce()

    assert pkce.challenge == code_challenge(pkce.verifier)


@pytest.mark.parametrize("verifier", ["short", "x" * 129, "a" * 42 + "!"])
def test_verifier_outside_rfc_alphabet_or_length_is_refused(verifier):
    with pytest.raises(ValueError, match="43-128"):
        code_challenge(verifier)
