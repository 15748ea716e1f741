"""Public pages for the client admin: the invitation, the trip to DocuSign and back.

No staff login here. Every failure renders `consent/error.html`, which says what happened and
what to do; the services have already written the audit row.
"""

from django.conf import settings
from django.shortcuts import redirect, render
from django.views import View

from tenants.models import Invite
from tenants.selectors.tenants import consent_attempt_for_choice
from tenants.services.consent import (
    ConsentError,
    ConsentResult,
    consent_scope_explanations,
    consent_start,
    consent_system_user_check,
)
from tenants.services.consent_callback import consent_account_choose, consent_callback
from tenants.services.invites import (
    InviteInvalid,
    invite_open,
    invite_rejected_record,
    invite_resolve,
)

CHOICE_SESSION_KEY = "consent_attempt_id"
DONE_SESSION_KEY = "consent_done"


def _invite_error(request, error: InviteInvalid):
    invite_rejected_record(error=error, request=request)
    status = 410 if error.code in ("expired", "superseded", "completed", "closed") else 400
    return render(
        request,
        "consent/error.html",
        {
            "title": "This invitation link cannot be used",
            "message": error.message,
            "advice": "",
            "partner_name": settings.PARTNER_NAME,
        },
        status=status,
    )


def _consent_error(request, error: ConsentError, status: int = 400):
    return render(
        request,
        "consent/error.html",
        {
            "title": error.title,
            "message": error.message,
            "advice": error.advice,
            "detail": error.detail,
            "code": error.code,
            "partner_name": settings.PARTNER_NAME,
        },
        status=status,
    )


def _done(request, result: ConsentResult):
    request.session.pop(CHOICE_SESSION_KEY, None)
    request.session[DONE_SESSION_KEY] = {
        "tenant": result.tenant.name,
        "account_name": result.account_name,
        "account_id": result.account_id,
        "jwt_error": bool(result.jwt_error),
    }
    return redirect("consent-done")


def _ensure_session(request) -> str:
    # The attempt is bound to this browser's session; an anonymous visitor has none yet.
    request.session["consent_started"] = True
    if not request.session.session_key:
        request.session.save()
    return request.session.session_key


def _landing(request, token, invite, *, system_user_id: str = "", error: str = ""):
    tenant = invite.tenant
    return render(
        request,
        "consent/landing.html",
        {
            "token": token,
            "tenant": tenant,
            "partner_name": settings.PARTNER_NAME,
            "scopes": consent_scope_explanations(tenant=tenant),
            "is_reconsent": invite.kind == Invite.Kind.RECONSENT,
            "is_jwt": tenant.uses_jwt,
            "is_org": tenant.grant_mode == tenant.GrantMode.ORG_ADMIN,
            "expires_at": invite.expires_at,
            "system_user_id": system_user_id,
            "system_user_error": error,
        },
        status=400 if error else 200,
    )


class ConsentLandingView(View):
    def get(self, request, token):
        try:
            invite = invite_resolve(token=token)
        except InviteInvalid as error:
            return _invite_error(request, error)
        invite_open(invite=invite, request=request)
        return _landing(request, token, invite)


class ConsentStartView(View):
    def post(self, request, token):
        try:
            invite = invite_resolve(token=token)
        except InviteInvalid as error:
            return _invite_error(request, error)
        typed = request.POST.get("system_user_id", "")[:100]
        try:
            system_user_id = consent_system_user_check(tenant=invite.tenant, system_user_id=typed)
        except ValueError as error:
            return _landing(request, token, invite, system_user_id=typed, error=str(error))
        session_key = _ensure_session(request)
        try:
            url = consent_start(
                invite=invite,
                session_key=session_key,
                system_user_id=system_user_id,
                request=request,
            )
        except ConsentError as error:
            return _consent_error(request, error, status=503)
        return redirect(url)


class ConsentCallbackView(View):
    def get(self, request):
        try:
            result = consent_callback(
                params=request.GET.dict(), session_key=request.session.session_key, request=request
            )
        except ConsentError as error:
            return _consent_error(request, error)
        if result.choose_account:
            request.session[CHOICE_SESSION_KEY] = result.attempt_id
            return redirect("consent-choose-account")
        return _done(request, result)


class ConsentChooseAccountView(View):
    def _attempt(self, request):
        return consent_attempt_for_choice(
            attempt_id=request.session.get(CHOICE_SESSION_KEY),
            session_key=request.session.session_key,
        )

    def _nothing_to_choose(self, request):
        return render(
            request,
            "consent/error.html",
            {
                "title": "There is no account to choose right now",
                "message": "This page is only used during a DocuSign sign-in, and none is "
                "waiting in this browser (it may have finished or expired).",
                "advice": "Open the invitation link from your email again if your account is "
                "not connected yet.",
                "partner_name": settings.PARTNER_NAME,
            },
            status=400,
        )

    def _render(self, request, attempt, error: str = "", status: int = 200):
        return render(
            request,
            "consent/choose_account.html",
            {
                "attempt": attempt,
                "tenant": attempt.tenant,
                "choices": attempt.account_choices,
                "user": attempt.userinfo,
                "partner_name": settings.PARTNER_NAME,
                "error": error,
            },
            status=status,
        )

    def get(self, request):
        attempt = self._attempt(request)
        if attempt is None:
            return self._nothing_to_choose(request)
        return self._render(request, attempt)

    def post(self, request):
        attempt = self._attempt(request)
        if attempt is None:
            return self._nothing_to_choose(request)
        try:
            result = consent_account_choose(
                attempt=attempt,
                session_key=request.session.session_key,
                account_id=request.POST.get("account_id", "")[:64],
                request=request,
            )
        except ConsentError as error:
            if error.code == "invalid_choice":
                return self._render(request, attempt, error=error.message, status=400)
            request.session.pop(CHOICE_SESSION_KEY, None)
            return _consent_error(request, error)
        return _done(request, result)


class ConsentDoneView(View):
    def get(self, request):
        done = request.session.get(DONE_SESSION_KEY)
        if not done:
            return _nothing_done(request)
        return render(
            request, "consent/done.html", {"done": done, "partner_name": settings.PARTNER_NAME}
        )


def _nothing_done(request):
    return render(
        request,
        "consent/error.html",
        {
            "title": "Nothing to show here",
            "message": "This page confirms a finished connection, and none was finished in this "
            "browser.",
            "advice": "Open the invitation link from your email to connect your account.",
            "partner_name": settings.PARTNER_NAME,
        },
        status=404,
    )
