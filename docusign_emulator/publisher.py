"""Connect delivery (API.md 3): publishes an event to every subscribed configuration, POSTs the
messages to listeners (HMAC, OAuth for Connect, Basic, mutual TLS), records each outcome in the
delivery list, the Connect log and the failure (retry) queue, and retries due failures.

What a message contains is built by `connect_message.py`. Specs are assembled under the store
lock; the HTTP calls run outside it.
"""

from __future__ import annotations

import threading
import time
import uuid

import requests

from docusign_emulator.connect_message import Delivery, delivery_spec
from docusign_emulator.envelopes import EVENT_STATUS, drop_take, failures_prune
from docusign_emulator.models import Failure, LogEntry
from docusign_emulator.state import Store
from docusign_emulator.tls import client_certificate

MAX_LOGS = 100  # API.md 2: at most 100 active logs per account


class Publisher:
    def __init__(self, store: Store, *, tls_dir: str = "var/emulator-tls", listener_ca: str = ""):
        self.store = store
        # Where the Connect client certificate lives (made on first need) and the CA bundle that
        # listeners' server certificates are checked against (empty: the system's).
        self.tls_dir = tls_dir
        self.listener_ca = listener_ca
        self._client_cert: tuple[str, str] | None = None
        self._client_cert_lock = threading.Lock()
        self._tokens: dict[tuple[str, str, str], tuple[str, float]] = {}
        self._tokens_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- publishing ------------------------------------------------------------------------
    def publish(
        self,
        account_id: str,
        event: str,
        envelope_id: str | None = None,
        recipient_id: str | None = None,
        user_id: str | None = None,
    ) -> list[dict]:
        store = self.store
        envelope_id = envelope_id or str(uuid.uuid4())
        with store.lock:
            account = store.accounts.get(account_id)
            if account is None:
                raise KeyError(account_id)
            if user_id is None:
                user_id = next(
                    (
                        u.user_id
                        for u in store.users.values()
                        if (m := u.membership(account_id)) is not None and m.is_admin
                    ),
                    str(uuid.uuid4()),
                )
            configs = sorted(
                (c for c in store.connect.values() if c.account_id == account_id),
                key=lambda c: int(c.connect_id),
            )
            envelope = store.envelopes.get(envelope_id)
            if envelope is not None and envelope.notification is not None:
                # The envelope's own eventNotification is delivered as well (API.md 2.1).
                configs.append(envelope.notification)
            specs = [
                delivery_spec(store, c, event, envelope_id, recipient_id, user_id)
                for c in configs
                if c.wire.get("allowEnvelopePublish") == "true"
                and c.wire.get("pausePublish") != "true"
                and not c.wire.get("disabledBy")
                and event in (c.wire.get("events") or [])
            ]
            dropped = [drop_take(store, account_id=account_id, event=event) for _ in specs]
        return [
            self._drop(spec) if drop else self._deliver(spec)
            for spec, drop in zip(specs, dropped, strict=True)
        ]

    def _drop(self, spec: Delivery) -> dict:
        """A delivery lost without a trace at DocuSign (no POST, no failure, no log): only the
        control plane's delivery list shows it, for tests of the completeness check."""
        result = {
            "connectId": spec.connect_id,
            "url": spec.url,
            "status": "dropped",
            "error": None,
            "statusCode": None,
            "event": spec.event,
            "envelopeId": spec.envelope_id,
            "retryCount": spec.retry_count,
        }
        with self.store.lock:
            self.store.deliveries.append(
                {**result, "accountId": spec.account_id, "at": self.store.now()}
            )
            del self.store.deliveries[:-500]
        return result

    def client_certificate(self) -> tuple[str, str]:
        with self._client_cert_lock:
            if self._client_cert is None:
                self._client_cert = client_certificate(self.tls_dir)
            return self._client_cert

    def process_due(self) -> list[dict]:
        """Retry queued failures whose time has come (by the emulator clock)."""
        store = self.store
        with store.lock:
            now = store.now()
            max_retries = int(store.config["connect_max_retries"])
            due = sorted(
                (
                    f
                    for f in store.failures.values()
                    if not f.in_flight and f.next_retry_at <= now and f.retry_count < max_retries
                ),
                key=lambda f: f.created,
            )
            specs = []
            for failure in due:
                cfg = store.connect.get(failure.connect_id) or store.envelope_notification(
                    failure.envelope_id, failure.connect_id
                )
                paused = cfg is not None and (
                    cfg.wire.get("pausePublish") == "true" or cfg.wire.get("disabledBy")
                )
                if cfg is None or paused:
                    continue  # paused: skipped but not lost
                failure.in_flight = True
                user_id = cfg.user_id or ""
                specs.append(
                    delivery_spec(
                        store,
                        cfg,
                        failure.event,
                        failure.envelope_id,
                        failure.recipient_id,
                        user_id,
                        failure.retry_count + 1,
                        failure.failure_id,
                        failure.generated_at or failure.created,
                    )
                )
        return [self._deliver(spec) for spec in specs]

    def _deliver(self, spec: Delivery) -> dict:
        status_code = None
        error = ""
        headers = dict(spec.headers)
        try:
            if spec.oauth_missing:
                raise RuntimeError("includeOAuth is true but no OAuth for Connect config exists")
            if spec.oauth is not None:
                headers["Authorization"] = "Bearer " + self._oauth_token(spec.oauth, spec.timeout)
            auth = spec.basic if spec.oauth is None else None
            resp = requests.post(
                spec.url,
                data=spec.body,
                headers=headers,
                auth=auth,
                timeout=spec.timeout,
                cert=self.client_certificate() if spec.mutual_tls else None,
                verify=self.listener_ca or True,
            )
            status_code = resp.status_code
            if not 200 <= resp.status_code < 300:
                error = f"HTTP {resp.status_code}"
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        ok = not error
        result = {
            "connectId": spec.connect_id,
            "url": spec.url,
            "status": "delivered" if ok else "failed",
            "error": error or None,
            "statusCode": status_code,
            "event": spec.event,
            "envelopeId": spec.envelope_id,
            "retryCount": spec.retry_count,
        }
        self._record(spec, result, headers)
        return result

    def _record(self, spec: Delivery, result: dict, headers: dict[str, str]) -> None:
        store = self.store
        ok = result["status"] == "delivered"
        with store.lock:
            now = store.now()
            store.deliveries.append(
                {
                    **result,
                    "accountId": spec.account_id,
                    "headers": {k: v for k, v in headers.items() if k != "Authorization"},
                    "body": spec.body.decode("utf-8"),
                    "at": now,
                }
            )
            del store.deliveries[:-500]
            if spec.enable_log:
                log_id = str(uuid.uuid4())
                store.logs[log_id] = LogEntry(
                    log_id=log_id,
                    account_id=spec.account_id,
                    connect_id=spec.connect_id,
                    url=spec.url,
                    envelope_id=spec.envelope_id,
                    created=now,
                    status="Success" if ok else "Failed",
                    error=result["error"] or "",
                    payload=spec.body.decode("utf-8"),
                )
                mine = sorted(
                    (x for x in store.logs.values() if x.account_id == spec.account_id),
                    key=lambda x: x.created,
                )
                for old in mine[: max(0, len(mine) - MAX_LOGS)]:
                    del store.logs[old.log_id]
            interval = float(store.config["connect_retry_interval_s"])
            failure = store.failures.get(spec.failure_id or "")
            if failure is not None:
                failure.in_flight = False
                failure.last_try = now
                failure.retry_count = spec.retry_count
                if ok:
                    del store.failures[failure.failure_id]
                else:
                    failure.error = result["error"] or ""
                    failure.next_retry_at = now + interval
            elif not ok and spec.requires_ack:
                # API.md 2.1: with requiresAcknowledgement a failure queues for a daily retry;
                # without it there is no retry at all.
                fid = str(uuid.uuid4())
                store.failures[fid] = Failure(
                    failure_id=fid,
                    account_id=spec.account_id,
                    connect_id=spec.connect_id,
                    url=spec.url,
                    event=spec.event,
                    envelope_id=spec.envelope_id,
                    recipient_id=spec.recipient_id,
                    created=now,
                    next_retry_at=now + interval,
                    error=result["error"] or "",
                    generated_at=spec.generated_at,
                    status=self._envelope_status(spec),
                    last_try=now,
                )
                result["failureId"] = fid
                failures_prune(store, spec.account_id)
            store.touch()

    def _envelope_status(self, spec: Delivery) -> str:
        status = EVENT_STATUS.get(spec.event)
        if status is None:
            envelope = self.store.envelopes.get(spec.envelope_id)
            status = envelope.status if envelope is not None else ""
        return status

    # --- OAuth for Connect -------------------------------------------------------------------
    def _oauth_token(self, config: dict, timeout: float) -> str:
        """client_credentials against the listener's IdP (API.md 3.2), cached until expiry."""
        cache_key = (
            config.get("authorizationServerUrl", ""),
            config.get("clientId", ""),
            config.get("scope", ""),
        )
        with self._tokens_lock:
            cached = self._tokens.get(cache_key)
            if cached and cached[1] > time.time() + 30:
                return cached[0]
        form = {"grant_type": "client_credentials"}
        if config.get("scope"):
            form["scope"] = config["scope"]
        form.update(config.get("customParameters") or {})
        auth = None
        if self.store.config.get("connect_oauth_client_auth") == "body":
            form["client_id"] = config.get("clientId", "")
            form["client_secret"] = config.get("clientSecret", "")
        else:
            auth = (config.get("clientId", ""), config.get("clientSecret", ""))
        resp = requests.post(
            config["authorizationServerUrl"], data=form, auth=auth, timeout=min(timeout, 30)
        )
        if resp.status_code != 200:
            raise RuntimeError(f"token endpoint answered HTTP {resp.status_code}")
        data = resp.json()
        token = data.get("access_token")
        if not token:
            raise RuntimeError("token endpoint answered without access_token")
        with self._tokens_lock:
            self._tokens[cache_key] = (token, time.time() + float(data.get("expires_in") or 300))
        return token

    def check_oauth(self, config: dict) -> str | None:
        try:
            self._oauth_token(config, 30)
        except Exception as exc:
            return str(exc)
        return None

    def clear_token_cache(self) -> None:
        with self._tokens_lock:
            self._tokens.clear()

    # --- background retries ------------------------------------------------------------------
    def start(self, poll_s: float = 1.0) -> None:
        def loop() -> None:
            while not self._stop.wait(poll_s):
                try:
                    self.process_due()
                except Exception:  # noqa: S112 - keep retrying; a bad delivery must not stop it
                    continue

        self._thread = threading.Thread(target=loop, name="connect-retry", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
