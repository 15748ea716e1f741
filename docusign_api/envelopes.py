"""Envelope status changes of one account (``EnvelopesApi.list_status_changes``, API.md 7): what
an integration compares with the Connect events it received."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

from ._http import HttpCore
from .errors import DocuSignProtocolError

DateLike = date | datetime | str
PAGE_SIZE = 1000


@dataclass(frozen=True)
class EnvelopeStatusChange:
    envelope_id: str
    status: str
    status_changed_at: datetime | None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> EnvelopeStatusChange:
        return cls(
            envelope_id=str(data.get("envelopeId") or ""),
            status=str(data.get("status") or "").lower(),
            status_changed_at=parse_docusign_datetime(data.get("statusChangedDateTime")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class StatusChangesPage:
    envelopes: tuple[EnvelopeStatusChange, ...]
    start_position: int
    total_set_size: int
    next_uri: str


def parse_docusign_datetime(value: Any) -> datetime | None:
    """``2026-01-13T07:09:58.9584687Z`` (up to seven fractional digits) as an aware datetime."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:
        digits = "".join(ch for ch in rest if ch.isdigit())
        text = f"{head}.{digits[:6]}{rest[len(digits) :]}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return 0


class EnvelopesAPI:
    def __init__(self, http: HttpCore, *, base_uri: str, account_id: str, access_token: str):
        self._http = http
        self.account_id = account_id
        self._access_token = access_token
        self._url = (
            f"{base_uri.rstrip('/')}/restapi/v2.1/accounts/{quote(account_id, safe='')}/envelopes"
        )

    def __repr__(self) -> str:
        return f"EnvelopesAPI(account_id={self.account_id!r})"

    def status_changes_page(
        self,
        *,
        from_date: DateLike,
        to_date: DateLike | None = None,
        status: str | None = None,
        start_position: int = 0,
        count: int = PAGE_SIZE,
    ) -> StatusChangesPage:
        """One page of listStatusChanges; the paging members are strings on the wire."""
        params = {"from_date": _date(from_date), "start_position": str(start_position)}
        params["count"] = str(count)
        if to_date is not None:
            params["to_date"] = _date(to_date)
        if status:
            params["status"] = status
        body = self._http.request(
            "GET",
            self._url,
            endpoint="/restapi/v2.1/accounts/{accountId}/envelopes",
            idempotent=True,
            headers={
                "Authorization": f"Bearer {self._access_token}",
                "Accept": "application/json",
            },
            params=params,
            account_id=self.account_id,
            secrets=(self._access_token,),
        )
        if not isinstance(body, dict):
            raise DocuSignProtocolError("expected an EnvelopesInformation object", status=200)
        envelopes = tuple(EnvelopeStatusChange.from_wire(e) for e in body.get("envelopes") or [])
        return StatusChangesPage(
            envelopes=envelopes,
            start_position=_int(body.get("startPosition")),
            total_set_size=_int(body.get("totalSetSize")),
            next_uri=str(body.get("nextUri") or ""),
        )

    def status_changes(
        self, *, from_date: DateLike, to_date: DateLike | None = None, count: int = PAGE_SIZE
    ) -> Iterator[StatusChangesPage]:
        """Every page, one call each, while DocuSign names a next one."""
        start = 0
        while True:
            page = self.status_changes_page(
                from_date=from_date, to_date=to_date, start_position=start, count=count
            )
            yield page
            if not page.next_uri or not page.envelopes:
                return
            start = page.start_position + len(page.envelopes)


def _date(value: DateLike) -> str:
    return value if isinstance(value, str) else value.isoformat()
