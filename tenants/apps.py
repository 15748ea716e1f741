from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"

    def ready(self) -> None:
        from common import bulk
        from common.models import BulkOperation
        from tenants.services.tokens import token_reconsent_invite_for_bulk

        # Bulk "send re-consent invites" over many tenants (the tokens area's handler).
        bulk.register(BulkOperation.Kind.RECONSENT_INVITE, token_reconsent_invite_for_bulk)
