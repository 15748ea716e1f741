from django.apps import AppConfig


class ConnectConfig(AppConfig):
    name = "connect"

    def ready(self) -> None:
        from common import bulk
        from common.models import BulkOperation
        from connect.services.bulk import connect_push_for_bulk, connect_resync_for_bulk

        bulk.register(BulkOperation.Kind.CONNECT_PUSH, connect_push_for_bulk)
        bulk.register(BulkOperation.Kind.CONNECT_RESYNC, connect_resync_for_bulk)
