"""What one attempt sends and how the answer is read: the body (the DocuSign event unchanged,
wrapped with who it belongs to), its Standard Webhooks signature, and the POST through
common/outbound.py, reduced to what the attempt row records."""

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from django.conf import settings
from django.utils import timezone

from common.outbound import OutboundRefused, outbound_post
from forwarding.models import Delivery
from forwarding.services.signing import signed_headers

EXCERPT_BYTES = 500

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def delivery_post(delivery: Delivery, *, signing_secrets: list[str]) -> dict:
    """POST the delivery's event to its destination; what happened, as the attempt row records
    it (status_code, excerpt, error, retry_after_s, latency_ms). Never raises for a network
    problem, and reads nothing from the database (safe in any thread)."""
    body, headers = _signed(delivery, signing_secrets=signing_secrets)
    started = time.monotonic()
    result = _send(delivery.destination.url, body=body, headers=headers)
    result["latency_ms"] = int((time.monotonic() - started) * 1000)
    return result


def sender_pool() -> ThreadPoolExecutor:
    """The process's sending threads, shared by every sender (each thread keeps its own pooled
    connections, common/outbound.py)."""
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(
                    max_workers=settings.FORWARDING_SEND_THREADS, thread_name_prefix="forwarding"
                )
    return _pool


def _signed(delivery: Delivery, *, signing_secrets: list[str]) -> tuple[bytes, dict[str, str]]:
    body = _body(delivery)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "DocuSign-Partner-Portal-Forwarding/1",
        **signed_headers(
            msg_id=delivery.webhook_id,
            timestamp=timezone.now(),
            body=body,
            signing_secrets=signing_secrets,
        ),
    }
    return body, headers


def _body(delivery: Delivery) -> bytes:
    """The DocuSign event unchanged, wrapped with who it belongs to (Standard Webhooks' shape:
    type, timestamp, data)."""
    event, tenant = delivery.event, delivery.tenant
    integration = delivery.destination.integration
    envelope = {
        "type": event.event,
        "timestamp": event.received_at.isoformat().replace("+00:00", "Z"),
        "data": {
            "event_id": event.pk,
            "tenant": {"id": tenant.pk, "slug": tenant.slug},
            "integration": {"id": integration.pk, "name": integration.name},
            "account_id": event.account_id,
            "docusign": event.payload,
        },
    }
    return json.dumps(envelope, separators=(",", ":")).encode("utf-8")


def _send(url: str, *, body: bytes, headers: dict[str, str]) -> dict:
    """What happened, as the attempt row records it. Never raises for a network problem."""
    timeout = (settings.FORWARDING_CONNECT_TIMEOUT_S, settings.FORWARDING_READ_TIMEOUT_S)
    try:
        response = outbound_post(url, body=body, headers=headers, timeout=timeout)
    except OutboundRefused as exc:
        return {"error": f"Refused: {exc}"}
    except requests.Timeout:
        return {"error": "Timed out waiting for the destination."}
    except requests.exceptions.SSLError as exc:
        return {"error": f"TLS error: {_short(exc)}"}
    except requests.ConnectionError as exc:
        return {"error": f"Connection failed: {_short(exc)}"}
    except requests.RequestException as exc:
        return {"error": f"{type(exc).__name__}: {_short(exc)}"}
    excerpt = response.content[:EXCERPT_BYTES].decode("utf-8", "replace")
    result = {"status_code": response.status_code, "excerpt": excerpt}
    if 200 <= response.status_code < 300:
        return result
    if 300 <= response.status_code < 400:
        location = response.headers.get("Location", "")[:150]
        result["error"] = f"Redirect {response.status_code} to {location!r} (not followed)."
    else:
        kind = response.headers.get("Content-Type", "").split(";")[0] or "no content type"
        result["error"] = f"HTTP {response.status_code} ({kind})."
    if response.status_code == 429:
        result["retry_after_s"] = _retry_after_s(response.headers.get("Retry-After", ""))
    return result


def _short(exc: Exception) -> str:
    return str(exc)[:200]


def _retry_after_s(value: str) -> int | None:
    return int(value) if value.strip().isdigit() else None
