"""URLs of the tenants pages."""

urlpatterns: list = []
