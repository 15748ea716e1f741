"""Writes to integrations: the partner's integration keys per DocuSign environment."""

from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


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
