from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"

    def ready(self):
        from common import bulk
        from common.models import BulkOperation
        from tenants.services.tokens import token_reconsent_invite_for_bulk

        # Tokens: bulk re-consent invites (tenants/services/tokens.py).
        bulk.register(BulkOperation.Kind.RECONSENT_INVITE, token_reconsent_invite_for_bulk)
