"""The first pass shared by every tenant CSV import: size, encoding, header and rows, read without
judging any value. Each caller words its own header message and empty-file message."""

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Model

# (line in the file, {column: stripped value}); blank rows are skipped.
CsvRow = tuple[int, dict[str, str]]
# Given the missing required columns and the unknown ones, the message to show, or None if fine.
HeaderMessage = Callable[[list[str], list[str]], str | None]


class CsvTooManyRows(ValueError):
    def __init__(self, *, line: int, limit: int):
        self.line = line
        self.limit = limit
        super().__init__(f"More than {limit} rows.")


@dataclass(frozen=True)
class CsvFormat:
    columns: tuple[str, ...]
    required: tuple[str, ...]
    max_bytes: int
    max_rows: int
    header_message: HeaderMessage
    no_rows_message: str


def csv_rows_read(
    data: bytes, *, spec: CsvFormat, errors: list[tuple[int, str]]
) -> list[CsvRow] | None:
    """The rows of a CSV file. Problems go to `errors` as (line, message); None when the file as
    a whole cannot be used. A row with more cells than the header is reported and left out.
    Raises CsvTooManyRows past `spec.max_rows`."""
    if len(data) > spec.max_bytes:
        errors.append((0, f"The file is larger than {spec.max_bytes // 1024} KB."))
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        errors.append((0, "The file is not UTF-8 text; save it as CSV UTF-8."))
        return None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in spec.required if c not in header]
    unknown = [h for h in header if h and h not in spec.columns]
    message = spec.header_message(missing, unknown)
    if message is not None:
        errors.append((1, message))
        return None
    reader.fieldnames = header
    rows: list[CsvRow] = []
    try:
        for raw in reader:
            if len(rows) >= spec.max_rows:
                raise CsvTooManyRows(line=reader.line_num, limit=spec.max_rows)
            if None in raw:
                errors.append((reader.line_num, "This row has more cells than the header."))
                continue
            values = {k: (v or "").strip() for k, v in raw.items()}
            if any(values.values()):
                rows.append((reader.line_num, values))
    except csv.Error as exc:
        errors.append((reader.line_num, f"The CSV cannot be read: {exc}."))
        return None
    if not rows and not errors:
        errors.append((0, spec.no_rows_message))
    return rows


def model_problems(instance: Model, *, exclude: list[str] | None = None) -> list[tuple[str, str]]:
    """(field, message) for each reason `instance.full_clean()` refuses it; "row" for no field."""
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        return [
            ("row" if name == NON_FIELD_ERRORS else name, message)
            for name, messages in exc.message_dict.items()
            for message in messages
        ]
    return []


@dataclass
class FirstSeen:
    """Values of a column that must differ between rows (compared case-insensitively)."""

    column: str
    row_name: str = "line {}"  # how a message names the row where the value was first seen
    lines: dict[str, int] = field(default_factory=dict)

    def check(self, value: str, line: int) -> list[tuple[str, str]]:
        key = value.lower()
        if not key:
            return []
        if key in self.lines:
            first = self.row_name.format(self.lines[key])
            return [(self.column, f"'{value[:63]}' is also used on {first}")]
        self.lines[key] = line
        return []
