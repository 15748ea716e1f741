"""The emulator's behaviour switches: every key `/_emulator/config` may set, and its default.

Kept apart from the store because this is where the wire facts that are still UNCONFIRMED
(API.md) become choices: each default says which behaviour the emulator picks and why; the store
only copies them on reset, and the control plane validates new values against their types.
"""

from __future__ import annotations

from typing import Any

DEFAULT_CONFIG: dict[str, Any] = {
    "latency_ms": 0,
    "error_rate": 0.0,
    # API.md 1.4: whether a used refresh token dies is UNCONFIRMED. "lenient" keeps it valid,
    # "strict" kills it at once and revokes the whole family when a dead one is replayed.
    "refresh_rotation": "lenient",
    "code_ttl_s": 120,
    "acg_access_ttl_s": 28800,
    "jwt_access_ttl_s": 3600,
    "refresh_ttl_s": 2592000,
    # API.md 4: the status for an exceeded rate limit is UNCONFIRMED (400 observed, 429 coming).
    "rate_limit_status": 400,
    # API.md 4 documents no Retry-After header; true adds one to rate-limit errors.
    "send_retry_after": False,
    "hourly_limit": 3000,
    "burst_limit": 200,
    "burst_window_s": 30,
    "max_body_bytes": 1024 * 1024,
    "connect_timeout_s": 100,
    "connect_retry_interval_s": 86400,
    "connect_max_retries": 10,
    # API.md 3.2: how DocuSign sends client credentials to the listener's IdP is UNCONFIRMED.
    "connect_oauth_client_auth": "basic",  # or "body"
    # API.md 2.3: DocuSign fetches a token when a /connect/oauth config is saved.
    "connect_oauth_validate_on_save": False,
    # API.md 2.1: whether PUT /connect merges or replaces is UNCONFIRMED.
    "connect_put_mode": "merge",  # or "replace"
    # DocuSign's deserializer ignores unknown JSON members; "true" rejects them instead.
    "reject_unknown_fields": False,
    # API.md 1.5: a hard maximum assertion lifetime is UNCONFIRMED; 0 disables the check.
    "jwt_max_assertion_lifetime_s": 0,
    # API.md 1.4: cap on outstanding refresh tokens per user and key (strict mode only).
    "max_refresh_tokens": 5,
    # API.md 2: POST /connect is 201 in the spec but a recorded demo call answered 200.
    "connect_create_status": 200,
    # API.md 7 (republish): what DocuSign does with an envelope id that has no failure entry is
    # UNCONFIRMED. "republish" sends the envelope's current status again; "refuse" answers an
    # error entry for it.
    "retry_queue_without_failure": "republish",
    # UNCONFIRMED: the largest envelopeIds list one retry_queue call takes.
    "retry_queue_max_envelopes": 100,
    # UNCONFIRMED: with `synchronous: "false"` DocuSign queues the republish; "inline" delivers
    # before answering (deterministic for tests), "background" answers first.
    "retry_queue_delivery": "inline",
    # ConnectLog.status is "the new envelope status for the failed Connect post" (SDK docs);
    # "retry_state" restores the emulator's earlier Pending/Failed for old tests.
    "failure_status_field": "envelope_status",
    # API.md 7: DocuSign keeps a bounded number of failure entries for a limited time; both
    # figures are UNCONFIRMED. 0 keeps every entry / keeps entries forever.
    "failure_log_max_entries": 0,
    "failure_log_retention_s": 0,
    # UNCONFIRMED: listStatusChanges' largest page (`count`).
    "status_changes_max_count": 1000,
    # API.md 7: what the redirect after an organization admin's consent carries is UNCONFIRMED:
    # "code" sends a code as for ACG, "state_only" sends back only the state.
    "admin_consent_redirect": "code",
}
