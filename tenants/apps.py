from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"

    def ready(self) -> None:
        from common import bulk
        from common.models import BulkOperation
        from tenants.services.invites import invite_reconsent_for_bulk

        # Bulk "send re-consent invites" over many tenants.
        bulk.register(BulkOperation.Kind.RECONSENT_INVITE, invite_reconsent_for_bulk)
