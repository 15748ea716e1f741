"""Envelopes of an account and their status changes: the model, kept apart from the handlers so
that every part of the emulator (REST `POST /envelopes`, the control plane's activity simulation,
Connect publishing, `retry_queue`, listStatusChanges) shares one record per envelope.

Functions here take the store's lock themselves where they mutate; none does network I/O.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from docusign_emulator.models import ConnectConfig
    from docusign_emulator.state import Store

# The statuses listStatusChanges reports, in the order an envelope moves through them.
STATUSES = ["created", "sent", "delivered", "completed", "declined", "voided"]
FINAL_STATUSES = {"completed", "declined", "voided"}
# JSON SIM envelope events (API.md 2.2) and the status each leaves the envelope in.
EVENT_STATUS = {
    "envelope-created": "created",
    "envelope-sent": "sent",
    "envelope-resent": "sent",
    "envelope-delivered": "delivered",
    "envelope-completed": "completed",
    "envelope-declined": "declined",
    "envelope-voided": "voided",
    "envelope-corrected": "sent",
}


@dataclass
class Envelope:
    envelope_id: str
    account_id: str
    status: str
    created: float
    status_changed: float = 0.0
    email_subject: str = "Please DocuSign: Agreement.pdf"
    user_id: str = ""  # the sender
    # [status, epoch seconds] for every change, oldest first.
    history: list[list] = field(default_factory=list)
    # The envelope-level eventNotification, stored as an account-level wire config
    # (envelope_notification.py).
    notification: ConnectConfig | None = None

    def changed_at(self, status: str) -> float | None:
        """When the envelope last entered `status`, if it ever did."""
        times = [at for name, at in self.history if name == status]
        return times[-1] if times else None


def status_event(status: str) -> str:
    return f"envelope-{status}"


def envelope_create(
    store: Store,
    *,
    account_id: str,
    status: str = "sent",
    envelope_id: str | None = None,
    email_subject: str | None = None,
    user_id: str = "",
    notification: ConnectConfig | None = None,
) -> Envelope:
    """A new envelope in `status` (created or sent, as `POST /envelopes` allows)."""
    with store.lock:
        now = store.now()
        envelope = Envelope(
            envelope_id=envelope_id or str(uuid.uuid4()),
            account_id=account_id,
            status=status,
            created=now,
            status_changed=now,
            user_id=user_id,
            history=[[status, now]],
            notification=notification,
        )
        if email_subject:
            envelope.email_subject = email_subject
        store.envelopes[envelope.envelope_id] = envelope
        store.touch()
        return envelope


def envelope_set_status(store: Store, envelope: Envelope, status: str) -> None:
    with store.lock:
        now = store.now()
        envelope.status = status
        envelope.status_changed = now
        envelope.history.append([status, now])
        store.touch()


def envelope_record_event(store: Store, *, account_id: str, envelope_id: str, event: str) -> None:
    """An envelope event published through the control plane moves (or creates) the envelope, so
    that listStatusChanges agrees with what Connect sent."""
    status = EVENT_STATUS.get(event)
    if status is None:
        return
    with store.lock:
        envelope = store.envelopes.get(envelope_id)
        if envelope is None or envelope.account_id != account_id:
            envelope_create(store, account_id=account_id, status=status, envelope_id=envelope_id)
        elif envelope.status != status:
            envelope_set_status(store, envelope, status)


def envelope_in_account(store: Store, account_id: str, envelope_id: str) -> Envelope | None:
    envelope = store.envelopes.get(envelope_id)
    if envelope is None or envelope.account_id != account_id:
        return None
    return envelope


def envelopes_changed(
    store: Store,
    *,
    account_id: str,
    start: float | None,
    end: float | None,
    end_exclusive: bool,
    statuses: set[str] | None,
    envelope_ids: set[str] | None,
) -> list[Envelope]:
    """Envelopes whose status changed in the window (`from_to_status=changed`, DocuSign's default),
    each once with its current status, oldest change first."""
    rows = []
    for envelope in store.envelopes.values():
        if envelope.account_id != account_id:
            continue
        if envelope_ids is not None and envelope.envelope_id not in envelope_ids:
            continue
        if statuses and envelope.status not in statuses:
            continue
        changed = envelope.status_changed
        if envelope_ids is None:
            if start is not None and changed < start:
                continue
            if end is not None and (changed >= end if end_exclusive else changed > end):
                continue
        rows.append(envelope)
    rows.sort(key=lambda env: (env.status_changed, env.envelope_id))
    return rows


def drop_take(store: Store, *, account_id: str, event: str) -> bool:
    """Whether the next delivery of `event` in `account_id` is to be dropped silently (control
    plane `POST /_emulator/connect/drop`). Call with the lock held."""
    for drop in store.drops:
        if drop.get("account_id") not in (None, account_id):
            continue
        if drop.get("event") not in (None, event):
            continue
        drop["count"] -= 1
        store.drops = [d for d in store.drops if d["count"] > 0]
        return True
    return False


def failures_prune(store: Store, account_id: str) -> None:
    """Forget the account's failure entries beyond the configured count and age (API.md 7: a
    bounded number, for a limited time). Call with the lock held."""
    limit = int(store.config["failure_log_max_entries"])
    retention = float(store.config["failure_log_retention_s"])
    mine = sorted(
        (f for f in store.failures.values() if f.account_id == account_id),
        key=lambda f: f.created,
    )
    cutoff = store.now() - retention if retention else None
    drop = [f for f in mine if cutoff is not None and f.created < cutoff]
    keep = [f for f in mine if f not in drop]
    if limit and len(keep) > limit:
        drop += keep[: len(keep) - limit]
    for failure in drop:
        store.failures.pop(failure.failure_id, None)
