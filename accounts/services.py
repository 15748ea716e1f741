from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.db import transaction
from django.http import HttpRequest

from accounts.models import User
from common.services import audit_record


@transaction.atomic
def staff_user_create(
    *,
    actor: User,
    username: str,
    email: str,
    role: str,
    password: str,
    request: HttpRequest | None = None,
) -> User:
    user = User(username=username, email=email, role=role, is_active=True)
    user.set_password(password)
    user.save()
    audit_record(
        action="staff.create",
        actor=actor,
        target=user,
        after={"role": role, "email": email},
        request=request,
    )
    return user


@transaction.atomic
def staff_user_update(
    *, actor: User, user: User, role: str, is_active: bool, request: HttpRequest | None = None
) -> User:
    before = {"role": user.role, "is_active": user.is_active}
    if user.pk == actor.pk and (role != user.role or not is_active):
        raise ValueError("You cannot change your own role or deactivate yourself.")
    user.role = role
    user.is_active = is_active
    user.save(update_fields=["role", "is_active"])
    audit_record(
        action="staff.update",
        actor=actor,
        target=user,
        before=before,
        after={"role": role, "is_active": is_active},
        request=request,
    )
    if before != {"role": role, "is_active": is_active}:
        # A session keeps what it was granted until it ends: end them so the change holds now.
        staff_sessions_end(actor=actor, user=user, reason="role or access changed", request=request)
    return user


def staff_sessions_end(
    *,
    actor: User,
    user: User,
    reason: str,
    keep_session_key: str = "",
    request: HttpRequest | None = None,
) -> int:
    """Sign the user out everywhere (but `keep_session_key`); returns how many sessions ended."""
    ended = 0
    for session in UserSession.objects.filter(user_id=user.pk).exclude(
        session_key=keep_session_key
    ):
        session.end()
        ended += 1
    audit_record(
        action="staff.sessions_end",
        actor=actor,
        target=user,
        message=f"{ended} session(s) ended: {reason}.",
        request=request,
    )
    return ended


@transaction.atomic
def staff_mfa_reset(*, actor: User, user: User, request: HttpRequest | None = None) -> int:
    """An owner recovers a staff member who lost every factor: remove them all, end the
    member's sessions; the member enrols again at the next sign-in."""
    if user.pk == actor.pk:
        raise ValueError("Another owner must reset your own second factors.")
    removed = sorted(Authenticator.objects.filter(user_id=user.pk).values_list("type", flat=True))
    Authenticator.objects.filter(user_id=user.pk).delete()
    audit_record(
        action="mfa.reset",
        actor=actor,
        target=user,
        before={"factors": removed},
        after={"factors": []},
        request=request,
    )
    staff_sessions_end(actor=actor, user=user, reason="second factors reset", request=request)
    return len(removed)


@transaction.atomic
def staff_role_sync_from_sso(*, user: User, role: str, request: HttpRequest | None = None) -> User:
    """At an SSO sign-in, the identity provider's groups decide the role."""
    if user.role == role:
        return user
    before = {"role": user.role}
    user.role = role
    user.save(update_fields=["role"])
    audit_record(
        action="staff.role_from_sso",
        actor=user,
        target=user,
        before=before,
        after={"role": role},
        request=request,
    )
    staff_sessions_end(actor=user, user=user, reason="role changed at sign-in", request=request)
    return user
