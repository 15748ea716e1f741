"""URLs of the forwarding pages: an integration's destinations and one destination."""

from django.urls import path

import portal.converters  # noqa: F401  (registers <id:>)
from portal.views import forwarding

urlpatterns = [
    path(
        "integrations/<id:integration_id>/destinations/",
        forwarding.IntegrationDestinationsView.as_view(),
        name="integration-destinations",
    ),
    path(
        "destinations/<id:destination_id>/",
        forwarding.DestinationDetailView.as_view(),
        name="destination-detail",
    ),
]
