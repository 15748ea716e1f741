from django.db.models import QuerySet

from accounts.models import User


def staff_user_list() -> QuerySet[User]:
    return User.objects.order_by("username")
