"""What the eSignature REST handlers share: the JSON object body, a 400 naming the bad parameter,
the empty answer of a DELETE, and DocuSign's dates (timestamps out, from_date/to_date in)."""

from __future__ import annotations

import datetime as dt
import re

from docusign_emulator import errors as e
from docusign_emulator.wire import Request, Response

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# fromisoformat (3.11) also takes compact and week forms; DocuSign's clients send the extended
# form (`isoformat()`, `...Z`, `...+00:00`, with or without fractions), so only that is accepted.
_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:?\d{2})?$"
)
# (start, end, end_exclusive) in epoch seconds; None where the parameter is absent.
Window = tuple[float | None, float | None, bool]
NO_WINDOW: Window = (None, None, False)


def bad(message: str) -> e.RestError:
    return e.RestError(400, e.INVALID_REQUEST_PARAMETER, message)


def json_body(req: Request) -> dict:
    try:
        data = req.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise e.rest(400, e.INVALID_REQUEST_BODY) from exc
    if not isinstance(data, dict):
        raise e.rest(400, e.INVALID_REQUEST_BODY)
    return data


def empty() -> Response:
    # API.md 2: DELETE answers 200 with an empty octet-stream body.
    return Response(status=200, body=b"", content_type="application/octet-stream")


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-4] + "Z"


def _parse_date(name: str, raw: str, *, end: bool) -> float:
    """An ISO 8601 date or datetime as epoch seconds (naive means UTC, as DocuSign documents).

    A bare date as `to_date` covers that whole day: the documented default for `to_date` is
    "the current date", which must not hide today's entries.
    """
    text = raw.strip()
    try:
        if _DATE_ONLY.match(text):
            day = dt.date.fromisoformat(text)
            if end:
                day += dt.timedelta(days=1)
            return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()
        if not _DATETIME.match(text):
            raise ValueError(text)
        moment = dt.datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError as exc:
        raise bad(f"Invalid value for {name}: {raw!r} is not an ISO 8601 date.") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def date_window(req: Request) -> Window:
    """`from_date`/`to_date` as (start, end, end_exclusive); None where the parameter is absent.

    API.md 2 and DocuSign's reference: from_date keeps entries "created on or after", to_date
    those "created up to this date/time". Repeated or empty parameters are rejected.
    """
    bounds: dict[str, float | None] = {"from_date": None, "to_date": None}
    exclusive = False
    seen: set[str] = set()
    for name, value in req.query:
        if name not in bounds:
            continue
        if name in seen:
            raise bad(f"Invalid value for {name}: the parameter is repeated.")
        seen.add(name)
        if not value.strip():
            raise bad(f"Invalid value for {name}: the parameter is empty.")
        bounds[name] = _parse_date(name, value, end=name == "to_date")
        if name == "to_date":
            exclusive = bool(_DATE_ONLY.match(value.strip()))
    return bounds["from_date"], bounds["to_date"], exclusive


def in_window(created: float, window: Window) -> bool:
    start, end, end_exclusive = window
    if start is not None and created < start:
        return False
    if end is None:
        return True
    return created < end if end_exclusive else created <= end
