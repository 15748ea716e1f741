"""URLs of the connect pages."""

urlpatterns: list = []
