"""URLs of the consent pages."""

urlpatterns: list = []
