"""URLs of the tokens pages."""

urlpatterns: list = []
