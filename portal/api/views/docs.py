"""The OpenAPI document and the browsable reference, from the project's own static files
(drf-spectacular-sidecar ships Swagger UI and Redoc): no CDN, and no key needed to read them."""

from django.http import Http404
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView


class _Public:
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []


class SchemaView(_Public, SpectacularAPIView):
    pass


class SwaggerView(_Public, SpectacularSwaggerView):
    pass


class RedocView(_Public, SpectacularRedocView):
    pass


class NotFoundView(_Public, APIView):
    """Any other address under /api/v1/: a problem document, not the staff pages' HTML 404."""

    schema = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        raise Http404
