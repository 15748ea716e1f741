"""URLs of the forwarding pages: an integration's destinations and one destination."""

from django.urls import path

from portal.views import forwarding

urlpatterns = [
    path(
        "integrations/<int:integration_id>/destinations/",
        forwarding.IntegrationDestinationsView.as_view(),
        name="integration-destinations",
    ),
    path(
        "destinations/<int:destination_id>/",
        forwarding.DestinationDetailView.as_view(),
        name="destination-detail",
    ),
]
