from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    verbose_name = "Connect events"

    def ready(self):
        from common.middleware import machine_endpoint_register

        # DocuSign's deliveries: no session, user, CSRF token or htmx (common/middleware.py).
        machine_endpoint_register("connect-hook")
