"""Offboarding a tenant: the steps of both apps, in order.

First what the portal left in the client's DocuSign account is removed (the Connect
configurations), while the tokens still work; then the tokens and the account link are forgotten.
It lives here, above `tenants` and `connect`, because it is the one place that needs both.
"""

import logging

from django.db import DatabaseError
from django.http import HttpRequest

from accounts.models import User
from connect.services.offboard import connect_offboard
from docusign_api import DocuSignError
from tenants.models import Tenant
from tenants.services.tenants import tenant_offboard_forget, tenant_offboard_refused_record
from tenants.services.tokens import TokenUnavailable

logger = logging.getLogger(__name__)


class OffboardIncomplete(Exception):
    """A cleanup step failed: the tokens are kept so the step can be retried."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


def tenant_offboard(
    *,
    tenant: Tenant,
    actor: User | None = None,
    request: HttpRequest | None = None,
    force: bool = False,
) -> list[str]:
    """Remove the portal from the client's account, then forget the tokens and the link.

    The cleanup calls DocuSign outside any transaction. If it fails, nothing is forgotten (so it
    can be retried; `OffboardIncomplete`) unless `force` is set. Returns the problems met."""
    if tenant.status == Tenant.Status.OFFBOARDED:
        return []
    problems = []
    try:
        connect_offboard(tenant_id=tenant.pk)
    except Exception as exc:
        logger.warning("offboarding tenant %s: removing Connect configurations failed", tenant.pk)
        problems.append(f"Removing the Connect configurations failed: {_reason(exc)}")
    if problems and not force:
        tenant_offboard_refused_record(
            tenant=tenant, actor=actor, request=request, problems=problems
        )
        raise OffboardIncomplete(problems)
    tenant_offboard_forget(tenant=tenant, actor=actor, request=request, problems=problems)
    return problems


def _reason(exc: Exception) -> str:
    """What staff are told: DocuSign's or the token service's own words, never an unexpected
    exception's text (that goes to the log)."""
    if isinstance(exc, DocuSignError):
        code = f"{exc.error_code}: " if exc.error_code else ""
        return f"DocuSign answered {exc.status}: {code}{exc.message}"[:300]
    if isinstance(exc, TokenUnavailable):
        return str(exc)
    if isinstance(exc, DatabaseError):
        return "the database was briefly unavailable; try again."
    logger.error("unexpected offboarding failure", exc_info=exc)
    return f"an unexpected error ({type(exc).__name__}); the details are in the log."
