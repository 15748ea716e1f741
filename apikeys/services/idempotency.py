"""Idempotent POSTs: the first answer to a (key, Idempotency-Key) pair is kept for 24 hours and
replayed to a retry with the same request, without doing the work again."""

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from apikeys.models import ApiKey, IdempotentRequest

IDEMPOTENCY_TTL = timedelta(hours=24)
IDEMPOTENCY_KEY_MAX_LENGTH = 255


class IdempotencyMismatch(Exception):
    """The key was first used with another request (a different body or path)."""


class IdempotencyInProgress(Exception):
    """The first request with this key has not finished (or was interrupted)."""


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: object
    headers: dict


def request_fingerprint(*, method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def idempotency_begin(*, api_key: ApiKey, key: str, fingerprint: str) -> IdempotentRequest | Replay:
    """Claim the key for this request (→ the row to finish), or the first answer (→ `Replay`).

    The claim is committed before the work starts: a concurrent request with the same key waits
    on the unique index, then finds the claim and is told the first one is in progress."""
    now = timezone.now()
    IdempotentRequest.objects.filter(
        api_key=api_key, key=key, created_at__lte=now - IDEMPOTENCY_TTL
    ).delete()
    try:
        with transaction.atomic():
            return IdempotentRequest.objects.create(
                api_key=api_key, key=key, fingerprint=fingerprint, created_at=now
            )
    except IntegrityError:
        pass
    first = IdempotentRequest.objects.filter(api_key=api_key, key=key).first()
    if first is None or first.status_code is None:
        if first is not None and first.fingerprint != fingerprint:
            raise IdempotencyMismatch()
        raise IdempotencyInProgress()
    if first.fingerprint != fingerprint:
        raise IdempotencyMismatch()
    body = json.loads(first.response_body) if first.response_body else None
    return Replay(status_code=first.status_code, body=body, headers=first.response_headers)


def idempotency_finish(
    *, claim: IdempotentRequest, status_code: int, body: object, headers: dict
) -> None:
    IdempotentRequest.objects.filter(pk=claim.pk).update(
        status_code=status_code, response_body=json.dumps(body), response_headers=headers
    )


def idempotency_release(*, claim: IdempotentRequest) -> None:
    """Forget a claim whose request failed on our side, so a retry does the work."""
    IdempotentRequest.objects.filter(pk=claim.pk).delete()


def idempotency_prune() -> int:
    deleted, _ = IdempotentRequest.objects.filter(
        created_at__lte=timezone.now() - IDEMPOTENCY_TTL
    ).delete()
    return deleted
