import pytest
from rest_framework.test import APIClient

from apikeys.tests.factories import api_key_issue


@pytest.fixture(autouse=True)
def _generous_rate_limit(settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 100_000


@pytest.fixture
def api(db):
    """`api(scopes=None)` → an APIClient carrying a new key (every scope unless given);
    `client.api_key` is the row, `client.secret` the key."""

    def make(scopes=None, **fields):
        issued = api_key_issue(scopes=scopes, **fields)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
        client.api_key = issued.api_key
        client.secret = issued.secret
        return client

    return make
