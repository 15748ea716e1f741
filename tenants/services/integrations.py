"""Writes to integrations: the partner's integration keys per DocuSign environment."""

from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import transaction
from django.http import HttpRequest

from accounts.models import User
from common.services import audit_record
from tenants.models import Integration


@dataclass(frozen=True)
class RsaKeyPair:
    private_pem: str
    public_pem: str


def rsa_keypair_generate() -> RsaKeyPair:
    """A 2048-bit RSA key pair for JWT grant: the private half is stored encrypted, the public half
    is pasted into DocuSign's app settings."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return RsaKeyPair(private_pem=private_pem, public_pem=public_pem)


# --- integrations ----------------------------------------------------------------------------

INTEGRATION_FIELDS = (
    "name",
    "environment",
    "auth_base_url",
    "integration_key",
    "redirect_uri",
    "partner_account_id",
    "partner_user_id",
    "is_active",
)
SECRET_FIELDS = ("secret_key", "rsa_private_key")


def _integration_snapshot(integration: Integration) -> dict:
    snap = {name: getattr(integration, name) for name in INTEGRATION_FIELDS}
    snap["secret key set"] = integration.has_secret_key
    snap["RSA key set"] = integration.has_rsa_private_key
    return snap


@transaction.atomic
def integration_save(
    *,
    integration: Integration | None = None,
    actor: User | None = None,
    request: HttpRequest | None = None,
    **fields: Any,
) -> Integration:
    """Create (no `integration`) or update one. A blank secret field keeps the stored secret:
    secrets are write-only, so the form never shows them back."""
    creating = integration is None
    integration = integration or Integration()
    before = None if creating else _integration_snapshot(integration)
    for name in INTEGRATION_FIELDS:
        if name in fields:
            setattr(integration, name, fields[name])
    for name in SECRET_FIELDS:
        if fields.get(name):
            setattr(integration, name, fields[name])
    integration.full_clean()
    integration.save()
    audit_record(
        action="integration.create" if creating else "integration.update",
        actor=actor,
        target=integration,
        before=before,
        after=_integration_snapshot(integration),
        message=", ".join(
            f"{n.replace('_', ' ')} replaced" for n in SECRET_FIELDS if fields.get(n)
        ),
        request=request,
    )
    return integration


@transaction.atomic
def integration_keypair_generate(
    *, integration: Integration, actor: User | None = None, request: HttpRequest | None = None
) -> str:
    """Replace the JWT key pair; returns the public key to paste into DocuSign."""
    pair = rsa_keypair_generate()
    integration.rsa_private_key = pair.private_pem
    integration.rsa_public_key = pair.public_pem
    integration.save(update_fields=["rsa_private_key", "rsa_public_key", "updated_at"])
    audit_record(
        action="integration.keypair",
        actor=actor,
        target=integration,
        message="New RSA key pair generated; the public key must be added in DocuSign",
        request=request,
    )
    return pair.public_pem
