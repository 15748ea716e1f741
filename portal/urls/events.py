"""URLs of the events pages: the public Connect receiver and its OAuth token endpoint, the event
browser, the partner's listener credentials and the tenant panel's actions."""

from django.urls import path

import portal.converters  # noqa: F401  (registers <id:>)
from portal.views import connect_hook, events

urlpatterns = [
    path("hooks/docusign/connect/", connect_hook.ConnectHookView.as_view(), name="connect-hook"),
    path(
        "hooks/docusign/oauth/token",
        events.ConnectOAuthTokenView.as_view(),
        name="connect-oauth-token",
    ),
    path("events/", events.EventListView.as_view(), name="event-list"),
    path("events/<id:event_id>/", events.EventDetailView.as_view(), name="event-detail"),
    path(
        "integrations/<id:integration_id>/connect-listener/",
        events.IntegrationHmacKeysView.as_view(),
        name="integration-hmac-keys",
    ),
    path(
        "tenants/<id:tenant_id>/events/panel/",
        events.TenantEventPanelView.as_view(),
        name="tenant-event-panel",
    ),
    path(
        "tenants/<id:tenant_id>/events/send-test/",
        events.TenantSendTestEventView.as_view(),
        name="tenant-send-test-event",
    ),
]
