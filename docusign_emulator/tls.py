"""A local CA and a server certificate for 127.0.0.1/localhost, generated once per directory.

The official SDK always calls `https://<oauth host>` (API.md 5), so tests need real TLS; clients
trust `<tls-dir>/ca.pem`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CLIENT_CERT = "connect-client.pem"
CLIENT_KEY = "connect-client-key.pem"


def _write(path: str, data: bytes) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def ensure_certificates(tls_dir: str) -> tuple[str, str, str]:
    """Return (ca.pem, server.pem, server-key.pem), creating them (and the Connect client
    certificate beside them) if missing."""
    os.makedirs(tls_dir, exist_ok=True)
    ca_path = os.path.join(tls_dir, "ca.pem")
    cert_path = os.path.join(tls_dir, "server.pem")
    key_path = os.path.join(tls_dir, "server-key.pem")
    client_path = os.path.join(tls_dir, CLIENT_CERT)
    client_key_path = os.path.join(tls_dir, CLIENT_KEY)
    paths = (ca_path, cert_path, key_path, client_path, client_key_path)
    if all(os.path.exists(p) for p in paths):
        return ca_path, cert_path, key_path

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "DocuSign Emulator Local CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("::1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    # What Connect presents to a listener that requires mutual TLS (API.md 3.3).
    client_key = ec.generate_private_key(ec.SECP256R1())
    client_cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "DocuSign Connect (emulator)")])
        )
        .issuer_name(ca_name)
        .public_key(client_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write(
        client_key_path,
        client_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    _write(client_path, client_cert.public_bytes(serialization.Encoding.PEM))
    _write(
        key_path,
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    _write(cert_path, server_cert.public_bytes(serialization.Encoding.PEM))
    _write(ca_path, ca_cert.public_bytes(serialization.Encoding.PEM))
    return ca_path, cert_path, key_path


def client_certificate(tls_dir: str) -> tuple[str, str]:
    """(client.pem, client-key.pem): the certificate Connect deliveries present for mTLS."""
    ensure_certificates(tls_dir)
    return os.path.join(tls_dir, CLIENT_CERT), os.path.join(tls_dir, CLIENT_KEY)


def server_context(tls_dir: str) -> tuple[ssl.SSLContext, str]:
    ca_path, cert_path, key_path = ensure_certificates(tls_dir)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_path, key_path)
    return context, ca_path
