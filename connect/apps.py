from django.apps import AppConfig


class ConnectConfig(AppConfig):
    name = "connect"

    def ready(self) -> None:
        from common import bulk
        from common.models import BulkOperation
        from connect.services.bulk import connect_push_for_bulk, connect_resync_for_bulk
        from connect.services.sync import connect_offboard_step
        from tenants.services.tenants import OFFBOARD_STEPS

        bulk.register(BulkOperation.Kind.CONNECT_PUSH, connect_push_for_bulk)
        bulk.register(BulkOperation.Kind.CONNECT_RESYNC, connect_resync_for_bulk)
        # Offboarding removes the portal's configurations from the client's account.
        if connect_offboard_step not in OFFBOARD_STEPS:
            OFFBOARD_STEPS.append(connect_offboard_step)
