from django.apps import AppConfig


class RecoveryConfig(AppConfig):
    """Connect deliveries DocuSign failed or lost: copied, republished, proven complete."""

    name = "recovery"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from common import bulk
        from common.models import BulkOperation
        from recovery.services.republish import republish_for_bulk

        bulk.register(BulkOperation.Kind.CONNECT_REPUBLISH, republish_for_bulk)
