"""CSV writing that spreadsheet programs cannot turn into formulas."""

import csv
import io
import itertools
from collections.abc import Iterable

_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value) -> str:
    """Prefix a quote to any cell a spreadsheet would read as a formula (CSV injection)."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_PREFIXES):
        return "'" + text
    return text


def csv_rows(header: list[str], rows: Iterable[Iterable]) -> Iterable[str]:
    """Yield CSV text line by line, for a StreamingHttpResponse."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in itertools.chain([header], rows):
        writer.writerow([neutralise_cell(cell) for cell in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate(0)
