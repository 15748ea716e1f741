"""The portal's policy, plugged into allauth's adapter hooks."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.shortcuts import render

from accounts.selectors import staff_mfa_enrolled, staff_mfa_required
from accounts.services import staff_role_sync_from_sso
from accounts.sso import SSORefused, sso_claims_check, sso_role_for
from common import crypto
from common.models import AuditEvent
from common.services import audit_record
from portal.auth.middleware import MFA_ENROLMENT_SESSION_KEY


class StaffAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        # Staff are added by an owner (or created by SSO, see the social adapter); no self sign-up.
        return False

    def login(self, request, user) -> None:
        super().login(request, user)
        if staff_mfa_required(user) and not staff_mfa_enrolled(user):
            request.session[MFA_ENROLMENT_SESSION_KEY] = True

    def is_reauthentication_required(self, *, app: str, **kwargs) -> bool:
        user = getattr(context.request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not user.has_usable_password()
            and not staff_mfa_enrolled(user)
        ):
            # An SSO user's first factor: the identity provider's sign-in is all there is.
            return False
        return super().is_reauthentication_required(app=app, **kwargs)


class StaffMFAAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        # TOTP secrets are encrypted at rest like every other secret (FIELD_ENCRYPTION_KEYS).
        return crypto.encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return crypto.decrypt(encrypted_text)

    def can_delete_authenticator(self, authenticator) -> bool:
        # An owner or admin keeps at least one factor; an owner can reset it (staff page).
        user = authenticator.user
        if not staff_mfa_required(user):
            return True
        others = user.authenticator_set.exclude(pk=authenticator.pk).exclude(
            type=authenticator.Type.RECOVERY_CODES
        )
        return others.exists()


class StaffSocialAccountAdapter(DefaultSocialAccountAdapter):
    """SSO: every sign-in is checked (nonce, group claim), maps groups to a role, creates the
    staff member on first sign-in and updates their role on each later one."""

    def is_open_for_signup(self, request, sociallogin) -> bool:
        return True

    def pre_social_login(self, request, sociallogin) -> None:
        try:
            claims = sso_claims_check(
                extra_data=sociallogin.account.extra_data, state=sociallogin.state or {}
            )
            role = sso_role_for(claims)
        except SSORefused as refused:
            self._refuse(request, str(refused), subject=sociallogin.account.uid)
        if not sociallogin.is_existing:
            sociallogin.user.role = role
        elif not sociallogin.user.is_active:
            self._refuse(
                request,
                "Your portal account is deactivated. Ask an owner to reactivate it.",
                subject=sociallogin.user.username,
            )
        else:
            staff_role_sync_from_sso(user=sociallogin.user, role=role, request=request)

    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        if not user.username:
            user.username = (data.get("email") or "").split("@")[0] or sociallogin.account.uid
        return user

    def save_user(self, request, sociallogin, form=None):
        user = super().save_user(request, sociallogin, form)
        audit_record(
            action="staff.create_from_sso",
            actor=user,
            target=user,
            after={"role": user.role, "email": user.email},
            request=request,
        )
        return user

    def on_authentication_error(
        self, request, provider, error=None, exception=None, extra_context=None
    ) -> None:
        if exception is not None:
            reason = f"The identity provider's answer failed a check: {exception}."
        elif "state_id" in (extra_context or {}):
            reason = (
                "The sign-in could not be matched to one this portal started (unknown, used or "
                "expired state)."
            )
        elif error == "cancelled":
            reason = "Sign-in was cancelled at the identity provider."
        else:
            answered = str(request.GET.get("error", "no code"))[:100]
            reason = f"The identity provider answered with an error ({answered})."
        self._refuse(request, reason, subject="")

    def _refuse(self, request, reason: str, *, subject: str):
        audit_record(
            action="auth.sso_refused",
            actor_label=str(subject)[:150] or "anonymous",
            outcome=AuditEvent.Outcome.DENIED,
            message=reason,
            request=request,
        )
        raise ImmediateHttpResponse(
            render(request, "registration/sso_refused.html", {"reason": reason}, status=403)
        )
