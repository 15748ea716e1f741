from allauth.core import context
from allauth.mfa.base.forms import AuthenticateForm
from allauth.mfa.webauthn.forms import AuthenticateWebAuthnForm, LoginWebAuthnForm
from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed

from common.models import AuditEvent
from common.services import audit_record


def _refuse_unless_break_glass(username: str, request, *, how: str) -> None:
    """With PASSWORD_LOGIN_DISABLED, only the break-glass owner signs in without SSO."""
    if not settings.PASSWORD_LOGIN_DISABLED or username == settings.BREAK_GLASS_USERNAME:
        return
    audit_record(
        action="auth.password_refused",
        actor_label=username[:150] or "anonymous",
        outcome=AuditEvent.Outcome.DENIED,
        message=f"{how} sign-in is disabled (PASSWORD_LOGIN_DISABLED).",
        request=request,
    )
    raise forms.ValidationError(
        f"{how} sign-in is turned off for this portal: use “Sign in with "
        f"{settings.OIDC_PROVIDER_NAME}”.",
        code="password_login_disabled",
    )


class StaffLoginForm(AuthenticationForm):
    """Django's sign-in form (django-axes counts its failures), closed to everyone but the
    break-glass owner when PASSWORD_LOGIN_DISABLED is set."""

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        _refuse_unless_break_glass(username, self.request, how="Password")
        return super().clean()


class StaffPasskeyLoginForm(LoginWebAuthnForm):
    """allauth's passkey sign-in, closed like the password form when SSO is the way in."""

    def clean_credential(self):
        authenticator = super().clean_credential()
        _refuse_unless_break_glass(
            authenticator.user.get_username(), context.request, how="Passkey"
        )
        return authenticator


def _axes_guarded(user, check, *, factor: str):
    """Run a second-factor `check` under the same lockout as passwords: a failed one is a failed
    sign-in for django-axes (and an audit row), and a locked-out user is not even checked."""
    request = context.request
    credentials = {"username": user.get_username()}
    if not AxesProxyHandler.is_allowed(request, credentials):
        # AxesMiddleware answers with the lockout page (429), as for a password.
        request.axes_locked_out = True
        request.axes_credentials = credentials
        raise forms.ValidationError("Too many failed sign-ins.", code="locked_out")
    try:
        return check()
    except forms.ValidationError:
        user_login_failed.send(
            sender=StaffLoginForm, credentials={**credentials, "factor": factor}, request=request
        )
        raise


class StaffMFAAuthenticateForm(AuthenticateForm):
    """allauth's code form (TOTP or recovery code); wrong or replayed codes count as failures."""

    def clean_code(self):
        return _axes_guarded(self.user, super().clean_code, factor="code")


class StaffWebAuthnAuthenticateForm(AuthenticateWebAuthnForm):
    """allauth's security-key step; an assertion by a key that is not this user's is a failure."""

    def clean_credential(self):
        return _axes_guarded(self.user, super().clean_credential, factor="security key")
