"""Whether the listener can verify DocuSign's client certificate before a template may require
mutual TLS (API.md 3.3): the CA bundle in CONNECT_MTLS_CLIENT_CA must exist, be readable, and hold
a PEM CA certificate still valid. TLS itself is terminated by the proxy (README, Connect: mutual
TLS); the portal only refuses to promise what that proxy cannot check."""

import datetime as dt

from cryptography import x509
from cryptography.x509.oid import ExtensionOID

MAX_BUNDLE_BYTES = 1024 * 1024
_WHAT_TO_DO = (
    "Set CONNECT_MTLS_CLIENT_CA to the PEM file of the CA that signs DocuSign's Connect client "
    "certificate, the one your TLS proxy verifies it with (README, Connect: mutual TLS), restart "
    "the portal, then turn this on."
)


def mtls_client_ca_problem(path: str) -> str | None:
    """Why the configured client CA bundle cannot back mutual TLS, or None when it can."""
    if not path:
        return (
            "Mutual TLS is required but no client certificate authority is configured, so "
            f"DocuSign's certificate could not be verified. {_WHAT_TO_DO}"
        )
    try:
        with open(path, "rb") as bundle:
            data = bundle.read(MAX_BUNDLE_BYTES + 1)
    except FileNotFoundError:
        return f"CONNECT_MTLS_CLIENT_CA names {path}, which does not exist here. {_WHAT_TO_DO}"
    except OSError as exc:
        return (
            f"CONNECT_MTLS_CLIENT_CA names {path}, which the portal cannot read "
            f"({exc.strerror or type(exc).__name__}): make it a file readable by the portal's "
            f"user. {_WHAT_TO_DO}"
        )
    if len(data) > MAX_BUNDLE_BYTES:
        return f"{path} is larger than a CA bundle can be (1 MB). {_WHAT_TO_DO}"
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError:
        return (
            f"{path} holds no PEM certificate (-----BEGIN CERTIFICATE-----): convert a DER "
            f"file with `openssl x509 -inform der`. {_WHAT_TO_DO}"
        )
    authorities = [c for c in certificates if _is_ca(c)]
    if not authorities:
        return (
            f"{path} holds no CA certificate, only end-entity ones (perhaps the client "
            f"certificate itself): the proxy needs the CA that signed it. {_WHAT_TO_DO}"
        )
    now = dt.datetime.now(dt.UTC)
    if all(c.not_valid_after_utc < now for c in authorities):
        return f"Every CA certificate in {path} has expired. {_WHAT_TO_DO}"
    return None


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        constraints = certificate.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS)
    except x509.ExtensionNotFound:
        # An X.509 v1 root has no extensions: self-signed is the only sign of a CA.
        return certificate.issuer == certificate.subject
    return bool(constraints.value.ca)
