from django.contrib import messages
from django.shortcuts import redirect

from accounts.selectors import staff_mfa_enrolled

# Set at sign-in for a user whose role requires a second factor and who has none yet.
MFA_ENROLMENT_SESSION_KEY = "portal_mfa_enrolment_due"
_ALLOWED_URL_NAMES = {"logout", "account_logout", "account_reauthenticate"}


class MFAEnrolmentMiddleware:
    """Until an owner or admin (MFA_REQUIRED_ROLES) enrols a second factor, every staff page
    leads to the enrolment page; the allauth MFA pages and sign-out stay reachable."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        session = getattr(request, "session", None)
        if session is None or not session.get(MFA_ENROLMENT_SESSION_KEY):
            return None
        if not request.user.is_authenticated or staff_mfa_enrolled(request.user):
            session.pop(MFA_ENROLMENT_SESSION_KEY, None)
            return None
        match = request.resolver_match
        name = match.url_name if match else ""
        if name and (name.startswith("mfa_") or name in _ALLOWED_URL_NAMES):
            return None
        messages.info(
            request,
            "Your role requires a second factor. Scan the code with an authenticator app "
            "(or add a security key) to continue.",
        )
        return redirect("mfa_activate_totp")
