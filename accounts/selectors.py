from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet

from accounts.models import User

# A recovery code alone is not a factor: it only replaces one that was lost.
SECOND_FACTORS = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)


def staff_user_list() -> QuerySet[User]:
    """Staff by username, each with `has_second_factor` (one query for the whole list)."""
    factors = Authenticator.objects.filter(user_id=OuterRef("pk"), type__in=SECOND_FACTORS)
    return User.objects.annotate(has_second_factor=Exists(factors)).order_by("username")


def staff_mfa_required(user: User) -> bool:
    return user.role in settings.MFA_REQUIRED_ROLES


def staff_mfa_enrolled(user: User) -> bool:
    return Authenticator.objects.filter(user_id=user.pk, type__in=SECOND_FACTORS).exists()


def staff_mfa_factor_types(user: User) -> list[str]:
    """The kinds of factor the user has enrolled, for the staff page."""
    types = Authenticator.objects.filter(user_id=user.pk).values_list("type", flat=True)
    return sorted({str(Authenticator.Type(t).label) for t in types})


def staff_sessions_list(user: User) -> list[UserSession]:
    """The user's live sessions (ended or expired ones are dropped on the way), newest first."""
    sessions = UserSession.objects.purge_and_list(user)
    return sorted(sessions, key=lambda s: s.created_at, reverse=True)
