import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from tenants.models import Integration

pytestmark = pytest.mark.django_db

SECRET = "integration-secret-value-7f3a"


def _raw_secret_column(integration_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret_key FROM tenants_integration WHERE id = %s", [integration_id])
        return cursor.fetchone()[0]


def _integration(**fields) -> Integration:
    defaults = dict(
        name="Demo",
        environment=Integration.Environment.DEMO,
        auth_base_url="https://account-d.docusign.com",
        integration_key="ik",
        redirect_uri="https://portal.example/consent/callback/",
    )
    return Integration.objects.create(**{**defaults, **fields})


def test_secret_round_trips_and_the_row_holds_no_plaintext():
    integration = _integration(secret_key=SECRET)
    raw = _raw_secret_column(integration.pk)
    assert SECRET not in raw
    assert raw.startswith("gAAAA")  # a Fernet token
    assert Integration.objects.get(pk=integration.pk).secret_key == SECRET


def test_empty_secret_stays_empty_so_not_set_is_visible():
    integration = _integration(secret_key="")
    assert _raw_secret_column(integration.pk) == ""
    assert Integration.objects.get(pk=integration.pk).has_secret_key is False


def test_rotation_command_moves_every_secret_to_the_newest_key(settings, capsys):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    integration = _integration(secret_key=SECRET, rsa_private_key="-----BEGIN PRIVATE KEY-----x")
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]

    call_command("rotate_encryption_keys")
    output = capsys.readouterr().out
    assert "tenants.Integration: 1 rows checked, 2 values moved to the newest key" in output

    # Readable with the new key alone: the old key can now be dropped.
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    assert Fernet(new_key).decrypt(_raw_secret_column(integration.pk).encode()).decode() == SECRET
    assert Integration.objects.get(pk=integration.pk).secret_key == SECRET

    call_command("rotate_encryption_keys")
    assert "1 rows checked, 0 values moved" in capsys.readouterr().out


def test_a_value_under_an_unknown_key_fails_loudly_without_showing_the_ciphertext(settings):
    from common.crypto import SecretDecryptionError

    integration = _integration(secret_key=SECRET)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(SecretDecryptionError) as excinfo:
        Integration.objects.get(pk=integration.pk)
    assert "gAAAA" not in str(excinfo.value)
