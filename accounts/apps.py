from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Staff accounts"

    def ready(self) -> None:
        from accounts import signals  # noqa: F401  (audit of login, logout and lockouts)
