"""Why an outbound call failed, as a sentence for the person who owns the URL: the certificate was
not trusted (and why), the connection was reset, refused or closed without an answer. `requests`
wraps urllib3, which wraps the OS error; these look through the wrapping."""

import http.client
import ssl
from collections.abc import Iterator

# OpenSSL's verification codes (X509_V_ERR_*) worth a plain sentence.
_UNTRUSTED_BECAUSE = {
    10: "it has expired",
    18: "it is self-signed",
    19: "it was issued by an authority the portal does not trust",
    20: "it was issued by an authority the portal does not trust",
    21: "the server does not send the intermediate certificates",
    62: "it is not valid for this host name",
}


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps (requests wraps urllib3, which wraps the OS)."""
    seen: set[int] = set()
    pending = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
        for linked in (getattr(current, "reason", None), current.__cause__, current.__context__):
            if isinstance(linked, BaseException):
                pending.append(linked)


def tls_failure_reason(exc: BaseException) -> str:
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            because = _UNTRUSTED_BECAUSE.get(cause.verify_code, "it could not be verified")
            return f"The destination's TLS certificate is not trusted: {because}."
        if isinstance(cause, ssl.SSLError) and cause.reason == "WRONG_VERSION_NUMBER":
            return "The destination does not speak TLS on that port (plain HTTP?)."
    return "The TLS handshake with the destination failed."


def connection_failure_reason(exc: BaseException) -> str:
    causes = list(_causes(exc))
    if any(isinstance(c, ConnectionResetError) for c in causes):
        return "The destination reset the connection without answering."
    if any(isinstance(c, http.client.RemoteDisconnected) for c in causes):
        return "The destination closed the connection without answering."
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return "The destination refused the connection: nothing listens on that port."
    errors = [c for c in causes if isinstance(c, OSError) and c.strerror]
    if errors:
        return f"The destination could not be reached: {errors[0].strerror.lower()}."
    return "The connection to the destination failed."
