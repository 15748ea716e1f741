"""The receiver accepts the Basic credentials a Connect template pushes (with its HMAC), and refuses
a wrong password or a template that is no longer active."""

import base64

import pytest

from connect.models import ConnectTemplate
from connect.services.templates import connect_template_create
from connect.tests.factories import sim_settings
from events.models import ConnectEvent, PartnerHmacKey
from events.tests.helpers import KEY_OLD, encode, message, post, signed_headers
from tenants.tests.factories import TenantAccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def template(emulator_integration):
    TenantAccountFactory(tenant__integration=emulator_integration)
    PartnerHmacKey.objects.create(
        integration=emulator_integration, label="current", secret=KEY_OLD, created_by_label="t"
    )
    return connect_template_create(
        actor=None,
        name="Hooks",
        slug="hooks",
        integration=emulator_integration,
        policy=ConnectTemplate.Policy.REPAIR,
        applies_to=ConnectTemplate.AppliesTo.ALL,
        settings=sim_settings(basic_auth_user="docusign"),
        basic_auth_password="template-secret",
    )


def deliver(client, password: str):
    body = encode(message())
    auth = base64.b64encode(f"docusign:{password}".encode()).decode()
    return post(client, body, HTTP_AUTHORIZATION=f"Basic {auth}", **signed_headers(body, KEY_OLD))


def test_the_template_credentials_are_accepted(client, template):
    assert deliver(client, "template-secret").status_code == 200
    assert ConnectEvent.objects.count() == 1


def test_a_wrong_password_is_refused_and_nothing_stored(client, template):
    response = deliver(client, "guess")
    assert response.status_code == 401
    assert not ConnectEvent.objects.exists()


def test_an_inactive_template_credentials_no_longer_work(client, template):
    ConnectTemplate.objects.filter(pk=template.pk).update(is_active=False)
    assert deliver(client, "template-secret").status_code == 401
