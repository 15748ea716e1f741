"""Fixtures shared by the tenants tests (helpers that are not fixtures live in *_helpers.py)."""

import pytest

from docusign_emulator.testing import TEST_SINGLE_ADMIN_EMAIL
from tenants.tests.factories import TenantFactory


@pytest.fixture
def tenant(emulator_integration):
    """A registered ACG tenant on the test emulator whose admin has a single account."""
    return TenantFactory(integration=emulator_integration, admin_email=TEST_SINGLE_ADMIN_EMAIL)


@pytest.fixture
def strict(emulator):
    """The emulator rotating refresh tokens strictly (an old one is refused), calls counted."""
    emulator.config(refresh_rotation="strict")
    emulator.reset_calls()
    return emulator


@pytest.fixture
def staff_alerts(settings):
    settings.STAFF_ALERT_EMAILS = ["ops@partner.test"]
