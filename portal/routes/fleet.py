"""URLs of the fleet pages."""

urlpatterns: list = []
