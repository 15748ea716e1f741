from django.contrib.auth.models import AbstractUser
from django.db import models

from accounts.roles import Perm, Role, role_allows


class User(AbstractUser):
    """A member of the partner's staff. What they may do follows from `role` alone."""

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.SUPPORT)

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.username

    def can(self, perm: Perm) -> bool:
        return self.is_active and role_allows(self.role, perm)
