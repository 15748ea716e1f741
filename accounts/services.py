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
    return user
