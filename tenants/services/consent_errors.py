"""What can go wrong on a client admin's way through consent, said in plain words."""

from collections.abc import Mapping

from django.conf import settings

from docusign_api import DocuSignError
from tenants.models import Tenant


class ConsentError(Exception):
    """A consent step failed. `code` names the case; `title`, `message` and `advice` say it to
    the client admin in plain words (the page escapes `detail`, which may come from DocuSign)."""

    TEXTS: dict[str, tuple[str, str, str]] = {
        "missing_state": (
            "This page was opened without its sign-in details",
            "The address is missing the information that ties it to your sign-in.",
            "Open the invitation link from your email again and click Continue to DocuSign.",
        ),
        "bad_state": (
            "This sign-in cannot be recognised",
            "The address does not carry a sign-in we started.",
            "Open the invitation link from your email again and start over.",
        ),
        "unknown_state": (
            "This sign-in cannot be recognised",
            "We did not start this sign-in, or it was already cleaned up.",
            "Open the invitation link from your email again and start over.",
        ),
        "session_mismatch": (
            "Please finish in the same browser",
            "We could not find the sign-in you started in this browser (cookies may be blocked, "
            "or the link was opened in another browser or window).",
            "Open the invitation link again in this browser, with cookies allowed, and click "
            "Continue to DocuSign.",
        ),
        "expired_state": (
            "This sign-in took too long",
            "For your security, a sign-in must be finished within a few minutes.",
            "Open the invitation link again and click Continue to DocuSign.",
        ),
        "reused_state": (
            "This sign-in was already used",
            "The response from DocuSign was received once already (perhaps the page was "
            "reloaded or submitted twice).",
            "If your account is not connected yet, open the invitation link again and start over.",
        ),
        "access_denied": (
            "You chose not to allow access",
            "DocuSign reports that access was declined, so nothing was connected.",
            "If that was a mistake, open the invitation link again and choose Allow access. "
            "If you have questions, contact {partner}.",
        ),
        "docusign_error": (
            "DocuSign could not complete the sign-in",
            "DocuSign reported an error, so nothing was connected.",
            "Open the invitation link again and retry. If it keeps failing, send {partner} the "
            "message below.",
        ),
        "missing_code": (
            "DocuSign did not send an authorisation",
            "The response from DocuSign is incomplete, so nothing was connected.",
            "Open the invitation link again and retry.",
        ),
        "code_rejected": (
            "DocuSign did not accept the authorisation",
            "The authorisation was refused by DocuSign (it may have expired or been used "
            "already), so nothing was connected.",
            "Open the invitation link again and retry; finish within two minutes of signing in.",
        ),
        "docusign_unavailable": (
            "DocuSign did not answer in time",
            "DocuSign could not be reached or answered with an error, so nothing was connected.",
            "Wait a few minutes, then open the invitation link again and retry.",
        ),
        "token_error": (
            "The connection could not be completed",
            "DocuSign refused to issue access for this integration, so nothing was connected.",
            "Contact {partner}: their DocuSign integration settings need attention.",
        ),
        "userinfo_failed": (
            "Your DocuSign account details could not be read",
            "DocuSign did not return your account details, so nothing was connected.",
            "Wait a few minutes, then open the invitation link again and retry.",
        ),
        "no_accounts": (
            "Your DocuSign login has no account",
            "The DocuSign user you signed in with does not belong to any DocuSign account.",
            "Sign in with the DocuSign user that administers your company's account.",
        ),
        "base_uri_not_allowed": (
            "This account cannot be connected",
            "DocuSign reported an account address outside DocuSign's known servers for this "
            "environment, so we did not send it any credentials.",
            "Contact {partner} and mention this message.",
        ),
        "wrong_account": (
            "A different DocuSign account was used",
            "This invitation is to reconnect the account already linked, but the DocuSign user "
            "you signed in with does not have access to it. Nothing was changed.",
            "Sign in to DocuSign with a user of the linked account, then open the invitation "
            "link again.",
        ),
        "other_account_chosen": (
            "Another account was chosen",
            "This invitation is to reconnect the account already linked, but a different "
            "account was chosen. Nothing was changed.",
            "Open the invitation link again and choose the account that is already linked.",
        ),
        "account_taken": (
            "This account is already connected",
            "This DocuSign account is already linked to another client of {partner}.",
            "Choose another account, or contact {partner}.",
        ),
        "integration_inactive": (
            "Connecting is paused",
            "{partner} has paused new connections for this DocuSign environment.",
            "Contact {partner}.",
        ),
        "org_admin_required": (
            "Organization consent needs an organization administrator",
            "DocuSign reports that the user who signed in is not an administrator of a DocuSign "
            "organization, so consent for the whole organization could not be given.",
            "Ask your DocuSign organization administrator (DocuSign Admin → Organization) to open "
            "the invitation link, or ask {partner} to switch you to individual consent.",
        ),
        "no_claimed_domain": (
            "Your organization has no claimed domain",
            "Organization consent covers the users whose email addresses are in your "
            "organization's claimed (reserved) domains, and your organization has none yet.",
            "In DocuSign Admin → Domains, claim your company's email domain, then open the "
            "invitation link again.",
        ),
        "system_user_not_found": (
            "The system user was not found",
            "DocuSign has no user with the id you named, so nothing was connected.",
            "In DocuSign Admin → Users, open the user and copy the API user id (a GUID), then "
            "open the invitation link again; or leave the field empty to use your own user.",
        ),
        "system_user_no_consent": (
            "The system user cannot be used",
            "DocuSign refused to let {partner} act as the user you named: the consent given does "
            "not cover that user (for organization consent, the user's email must be in a claimed "
            "domain; for individual consent, the user must be the one who signs in).",
            "Open the invitation link again and name a user whose email is in your claimed "
            "domains, or leave the field empty.",
        ),
        "system_user_not_member": (
            "The system user is not in this account",
            "The user you named does not belong to the DocuSign account being connected.",
            "Open the invitation link again and name a user of that account.",
        ),
        "system_user_required": (
            "Name the system user",
            "DocuSign did not say who granted the organization consent, so {partner} does not "
            "know which user to act as.",
            "Open the invitation link again and enter the API user id of the system user.",
        ),
        "jwt_failed": (
            "Background access could not be verified",
            "Consent was recorded at DocuSign, but {partner} could not obtain access as the system "
            "user, so nothing was connected.",
            "Wait a few minutes and open the invitation link again. If it keeps failing, send "
            "{partner} the message below.",
        ),
        "invalid_choice": (
            "Choose one of your accounts",
            "The account chosen is not one of the accounts offered.",
            "Go back and choose an account from the list.",
        ),
    }

    def __init__(self, code: str, *, tenant: Tenant | None = None, detail: str = ""):
        self.code = code
        self.tenant = tenant
        self.detail = detail[:300]
        super().__init__(code)

    def _text(self, index: int) -> str:
        return self.TEXTS[self.code][index].format(partner=settings.PARTNER_NAME)

    @property
    def title(self) -> str:
        return self._text(0)

    @property
    def message(self) -> str:
        return self._text(1)

    @property
    def advice(self) -> str:
        return self._text(2)


def docusign_detail(params: Mapping[str, str]) -> str:
    error = params.get("error", "")[:64]
    description = params.get("error_description", "")[:240]
    return f"{error}: {description}" if description else error


def docusign_error_label(exc: DocuSignError) -> str:
    """A short, secret-free description of a DocuSign failure (the client scrubs messages)."""
    status = exc.status if exc.status is not None else "no response"
    code = exc.error_code or type(exc).__name__
    return f"{status} {code}: {exc.message}"[:300]
