"""Audit rows for sign-in, sign-out, failed sign-in, lockout and second-factor changes."""

from allauth.mfa import signals as mfa_signals
from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from common.models import AuditEvent
from common.services import audit_record


@receiver(user_logged_in)
def _audit_login(sender, request, user, **kwargs):
    audit_record(action="auth.login", actor=user, target=user, request=request)


@receiver(user_logged_out)
def _audit_logout(sender, request, user, **kwargs):
    if user is not None:
        audit_record(action="auth.logout", actor=user, target=user, request=request)


@receiver(user_login_failed)
def _audit_login_failed(sender, credentials, request=None, **kwargs):
    # `credentials` is already cleansed by Django (the password is masked); keep only the name.
    # A wrong second-factor code is sent here too (portal/auth/forms.py) so axes counts it.
    audit_record(
        action="auth.mfa_failed" if credentials.get("factor") else "auth.login_failed",
        actor_label=str(credentials.get("username", ""))[:150] or "anonymous",
        outcome=AuditEvent.Outcome.FAILURE,
        request=request,
    )


@receiver(user_locked_out)
def _audit_lockout(sender, request, username, ip_address, **kwargs):
    audit_record(
        action="auth.locked_out",
        actor_label=str(username or "anonymous")[:150],
        outcome=AuditEvent.Outcome.DENIED,
        message=f"Too many failed sign-ins from {ip_address}; locked for the cool-off period.",
        request=request,
    )


def _factor(authenticator) -> dict:
    return {"type": authenticator.type, "id": authenticator.pk}


@receiver(mfa_signals.authenticator_added)
def _audit_factor_added(sender, request, user, authenticator, **kwargs):
    audit_record(
        action="mfa.enrol", actor=user, target=user, after=_factor(authenticator), request=request
    )


@receiver(mfa_signals.authenticator_removed)
def _audit_factor_removed(sender, request, user, authenticator, **kwargs):
    audit_record(
        action="mfa.remove", actor=user, target=user, before=_factor(authenticator), request=request
    )


@receiver(mfa_signals.authenticator_reset)
def _audit_factor_reset(sender, request, user, authenticator, **kwargs):
    audit_record(
        action="mfa.recovery_codes_regenerate",
        actor=user,
        target=user,
        after=_factor(authenticator),
        request=request,
    )


@receiver(mfa_signals.authenticator_used)
def _audit_factor_used(sender, request, user, authenticator, **kwargs):
    if authenticator.type == authenticator.Type.RECOVERY_CODES:
        audit_record(
            action="mfa.recovery_code_used",
            actor_label=user.get_username(),
            target=user,
            message="A one-time recovery code was used to sign in.",
            request=request,
        )
