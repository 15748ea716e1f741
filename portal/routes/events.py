"""URLs of the events pages."""

urlpatterns: list = []
