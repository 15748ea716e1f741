"""The one way to write the audit log."""

import re
from contextvars import ContextVar
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.http import HttpRequest

from accounts.models import User
from common.middleware import current_request_id
from common.models import AuditEvent

# Keys whose values are never written, whatever a caller passes in before/after.
_SECRET_KEY = re.compile(
    r"secret|password|private_key|assertion|verifier|hmac|api_key|credential"
    r"|(^|_)token$|^code$|authorization_code",
    re.IGNORECASE,
)
REDACTED = "[redacted]"
# Who acts when no staff user does, for the length of one request of a non-staff interface (the
# partner API sets its key's label), so every row written on its behalf names it.
current_actor_label: ContextVar[str] = ContextVar("current_actor_label", default="")


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: (REDACTED if _SECRET_KEY.search(str(key)) else _scrub(item))
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def audit_record(
    *,
    action: str,
    actor: User | AnonymousUser | None = None,
    actor_label: str = "",
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str | int = "",
    target_label: str = "",
    outcome: str = AuditEvent.Outcome.SUCCESS,
    message: str = "",
    before: dict | None = None,
    after: dict | None = None,
    request: HttpRequest | None = None,
) -> AuditEvent:
    """Append one audit row. `actor` is a staff user; other actors give `actor_label`
    ("scheduler", "client-admin", "docusign"). Secret-looking keys in before/after are redacted."""
    staff = actor if isinstance(actor, User) else None
    if staff is not None:
        label = staff.get_username()
    else:
        label = actor_label or current_actor_label.get() or "anonymous"
    if target is not None:
        target_type = target_type or target._meta.model_name or ""
        target_id = target.pk
        target_label = target_label or str(target)
    ip_address = None
    if request is not None:
        ip_address = request.META.get("REMOTE_ADDR") or None
    return AuditEvent.objects.create(
        actor=staff,
        actor_label=label[:150],
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        target_label=target_label[:200],
        outcome=outcome,
        message=message[:500],
        before=_scrub(before) if before is not None else None,
        after=_scrub(after) if after is not None else None,
        request_id=getattr(request, "request_id", "") or current_request_id.get(),
        ip_address=ip_address,
    )
