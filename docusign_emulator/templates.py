"""HTML for the sign-in, consent and error pages. Every interpolated value is escaped.

Selectors other parts rely on (docs/contracts.md 1, "Consent page"): `input[name=email]`,
`input[name=password]`, a "Sign in" submit button, and `button[name=decision][value=allow|deny]`.
"""

from __future__ import annotations

from html import escape

SCOPE_TEXT = {
    "signature": "Create and send envelopes, and obtain links for starting signing sessions.",
    "extended": "Keep access to your account without signing in again.",
    "impersonation": "Act on your behalf in DocuSign, even when you are not signed in.",
    "openid": "Know who you are.",
}

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:28rem;margin:3rem auto}}
label,input,button{{display:block;margin:.4rem 0}}.error{{color:#b00}}</style></head>
<body><h1>{title}</h1>
{content}
<p><small>DocuSign emulator</small></p></body></html>"""


def _page(title: str, content: str) -> str:
    return _PAGE.format(title=escape(title), content=content)


def login_page(*, auth_request: str, client_name: str, error: str = "", email: str = "") -> str:
    err = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return _page(
        "Log in to DocuSign",
        f"""<p>{escape(client_name)} wants to access your DocuSign account.</p>{err}
<form method="post" action="/oauth/auth">
<input type="hidden" name="auth_request" value="{escape(auth_request)}">
<input type="hidden" name="step" value="login">
<label for="email">Email</label>
<input id="email" type="email" name="email" value="{escape(email)}"
 autocomplete="username" required>
<label for="password">Password</label>
<input id="password" type="password" name="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>""",
    )


def consent_page(*, auth_request: str, client_name: str, user_email: str, scopes: list[str]) -> str:
    items = "".join(
        f"<li><strong>{escape(s)}</strong>: {escape(SCOPE_TEXT.get(s, 'Access: ' + s))}</li>"
        for s in scopes
    )
    return _page(
        "Allow access?",
        f"""<p>Signed in as {escape(user_email)}.</p>
<p><strong>{escape(client_name)}</strong> is requesting permission to:</p>
<ul class="scopes">{items}</ul>
<form method="post" action="/oauth/auth">
<input type="hidden" name="auth_request" value="{escape(auth_request)}">
<input type="hidden" name="step" value="consent">
<button type="submit" name="decision" value="allow">Allow access</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>""",
    )


def admin_consent_page(
    *,
    auth_request: str,
    client_name: str,
    user_email: str,
    organization_name: str,
    claimed_domains: list[str],
    scopes: list[str],
) -> str:
    items = "".join(
        f"<li><strong>{escape(s)}</strong>: {escape(SCOPE_TEXT.get(s, 'Access: ' + s))}</li>"
        for s in scopes
    )
    domains = ", ".join(escape(d) for d in claimed_domains)
    return _page(
        "Allow access for your organization?",
        f"""<p>Signed in as {escape(user_email)}, administrator of
<strong>{escape(organization_name)}</strong>.</p>
<p><strong>{escape(client_name)}</strong> is requesting permission, for every user whose email is
in your claimed domains (<span class="domains">{domains}</span>), to:</p>
<ul class="scopes">{items}</ul>
<form method="post" action="/oauth/auth">
<input type="hidden" name="auth_request" value="{escape(auth_request)}">
<input type="hidden" name="step" value="consent">
<button type="submit" name="decision" value="allow">Allow access</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>""",
    )


def error_page(*, error: str, description: str) -> str:
    return _page(
        "Something went wrong",
        f'<p class="error" data-error="{escape(error)}">{escape(error)}</p>'
        f"<p>{escape(description)}</p>",
    )
