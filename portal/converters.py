"""`<id:name>` in the portal's URLs (staff pages and the API): the digits of an id a row could
have. A larger number matches no route, a 404 as for an id that does not exist, instead of
reaching the database and failing there (SQLite cannot even bind it)."""

from django.urls import register_converter

# The largest id a row can have (PostgreSQL's bigint, SQLite's integer).
ID_MAX = 2**63 - 1


class IdConverter:
    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > ID_MAX:
            raise ValueError("larger than any id")
        return number

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")
