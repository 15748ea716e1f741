"""URLs of the delivery-failure pages (recovery app)."""

from django.urls import path

import portal.converters  # noqa: F401  (registers <id:>)
from portal.views import recovery

urlpatterns = [
    path(
        "delivery-failures/",
        recovery.FleetDeliveryFailuresView.as_view(),
        name="delivery-failures",
    ),
    path(
        "tenants/<id:tenant_id>/delivery-failures/",
        recovery.TenantDeliveryFailuresView.as_view(),
        name="tenant-delivery-failures",
    ),
    path(
        "tenants/<id:tenant_id>/delivery-failures/republish/",
        recovery.TenantRepublishView.as_view(),
        name="tenant-delivery-republish",
    ),
    path(
        "tenants/<id:tenant_id>/delivery-failures/check/",
        recovery.TenantRecoveryCheckView.as_view(),
        name="tenant-delivery-check",
    ),
]
