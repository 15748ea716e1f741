"""URLs of the public consent pages (no staff login)."""

from django.urls import path

from portal.views import consent

urlpatterns = [
    path("consent/callback/", consent.ConsentCallbackView.as_view(), name="consent-callback"),
    path(
        "consent/choose-account/",
        consent.ConsentChooseAccountView.as_view(),
        name="consent-choose-account",
    ),
    path("consent/done/", consent.ConsentDoneView.as_view(), name="consent-done"),
    path("consent/<str:token>/", consent.ConsentLandingView.as_view(), name="consent-landing"),
    path("consent/<str:token>/start/", consent.ConsentStartView.as_view(), name="consent-start"),
]
