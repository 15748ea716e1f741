"""Bring existing clients in through the API: the staff page's import (issue 21) for a partner's own
systems, as a JSON list of rows or the same CSV. The view translates: parse, call the service,
shape the answer per row. Refresh tokens are write-only: never in an answer, a log or the audit
log (the idempotency store keeps the answer and a hash of the body, never the body)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.parsers import BaseParser
from rest_framework.response import Response

from apikeys.models import Scope
from portal.api.base import ApiView
from portal.api.pagination import query_params
from portal.api.problems import (
    PROBLEM_CONTENT_TYPE,
    BoundedJSONParser,
    Problem,
    bad_request,
    invalid,
    read_bounded,
)
from portal.api.serializers.base import ProblemSerializer
from portal.api.serializers.tenant_import import (
    ExistingClientImportQuerySerializer,
    ExistingClientRowSerializer,
    ImportResultSerializer,
)
from tenants.services.csv_rows import CsvTooManyRows
from tenants.services.tenant_import import (
    MAX_BYTES,
    ExistingImportOutcome,
    RowError,
    tenant_import_existing,
    tenant_import_existing_csv_rows,
)

# Each row is verified with DocuSign while the caller waits (two or three calls a row), so a
# request stays well inside a proxy's timeout; more rows go in more requests.
MAX_ROWS_PER_REQUEST = 50
JSON_ROW = "[{}]"  # a JSON row is named by its index: "[2].refresh_token"
CSV_ROW = "line {}"  # a CSV row by its line in the file: "line 3.refresh_token"


class CsvText(str):
    """A text/csv body, decoded."""


class CsvBodyParser(BaseParser):
    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None):
        body = read_bounded(stream, parser_context)
        try:
            return CsvText(body.read().decode("utf-8-sig") if body is not None else "")
        except UnicodeDecodeError:
            raise bad_request(
                field="body", message="The CSV is not UTF-8 text; save it as CSV UTF-8."
            ) from None


def _too_many_rows(sent: str) -> Problem:
    message = (
        f"At most {MAX_ROWS_PER_REQUEST} rows per request (each is verified with DocuSign while "
        f"you wait); this one has {sent}. Send them in several requests."
    )
    return Problem(
        status_code=413,
        code="too-many-rows",
        title="Too many rows",
        detail=message,
        errors=[{"field": "body", "message": message}],
    )


def _refused(errors: list[RowError], row_name: str) -> Problem:
    """422: the first pass refused these rows (or the file), so nothing was imported."""
    fields = []
    for error in errors:
        for column, message in error.problems:
            if column or row_name == JSON_ROW:
                field = f"{row_name.format(error.line)}.{column or 'row'}"
            else:  # a problem of the CSV file itself (its header, a line it cannot read)
                field = "body"
                message = f"{row_name.format(error.line)}: {message}" if error.line else message
            fields.append({"field": field, "message": message})
    return Problem(
        status_code=422,
        code="import-refused",
        title="Nothing was imported",
        detail="Nothing was imported: fix these rows and send the request again. "
        + "; ".join(f"{f['field']}: {f['message']}" for f in fields)[:400],
        errors=fields,
    )


def _json_rows(data) -> list[tuple[int, dict]]:
    if isinstance(data, list) and len(data) > MAX_ROWS_PER_REQUEST:
        raise _too_many_rows(str(len(data)))
    serializer = ExistingClientRowSerializer(data=data, many=True, allow_empty=False)
    if not serializer.is_valid():
        errors = serializer.errors  # rows' errors keyed by index: named "[2].slug" in the answer
        if isinstance(errors, dict):
            errors = {f"[{k}]" if isinstance(k, int) else k: v for k, v in errors.items()}
        raise invalid(errors)
    return list(enumerate(serializer.validated_data))


def _csv_rows(text: CsvText) -> list[tuple[int, dict]]:
    try:
        rows, errors = tenant_import_existing_csv_rows(
            data=text.encode(), max_rows=MAX_ROWS_PER_REQUEST
        )
    except CsvTooManyRows as exc:
        raise _too_many_rows(f"more (line {exc.line} is row {exc.limit + 1})") from None
    if errors:
        raise _refused(errors, CSV_ROW)
    return rows


def _results(rows: list[tuple[int, dict]], outcome: ExistingImportOutcome, *, csv: bool) -> dict:
    errors = {error.line: error for error in outcome.errors}
    results = []
    for index, (line, values) in enumerate(rows):
        tenant = outcome.created.get(line)
        error = errors.get(line)
        results.append(
            {
                "index": index,
                "line": line if csv else None,
                "slug": values.get("slug", ""),
                "status": "created" if tenant is not None else "failed",
                "tenant": tenant,
                "errors": [
                    {"field": column or "row", "message": message}
                    for column, message in (error.problems if error else ())
                ],
            }
        )
    return {"created": len(outcome.created), "failed": len(outcome.errors), "results": results}


class TenantImportView(ApiView):
    required_scopes = {"POST": Scope.TENANTS_WRITE}
    parser_classes = [BoundedJSONParser, CsvBodyParser]
    max_body_bytes = MAX_BYTES

    @extend_schema(
        operation_id="tenants_import_existing",
        summary="Import clients whose grant you already hold",
        description="Each row is a client with a refresh token (`acg`) or the DocuSign user id JWT "
        "impersonates (`jwt`, `org_jwt`). Send a JSON list of rows, or `text/csv` with the "
        "columns of the staff CSV upload (there `integration` is a name). At most "
        f"{MAX_ROWS_PER_REQUEST} rows (413 beyond).\n\n"
        "Like the staff upload, two passes. First every row is checked without calling "
        "DocuSign: if any is wrong (a missing column, a duplicate slug or account, a malformed "
        "user id) the answer is a 422 naming each row and column, and nothing is imported. "
        "Then each row is verified with DocuSign (a refresh or a JWT grant, userinfo, the "
        "allowed base URI hosts) and stored whole, or not at all, on its own: the answer is a "
        "200 with each row `created` or `failed` (with the column at fault and what to do). A "
        "verified row is kept when another fails, because a refresh rotates the token: store "
        "nothing you sent as still valid, and send only the failed rows again, fixed.",
        parameters=[ExistingClientImportQuerySerializer],
        request={
            "application/json": ExistingClientRowSerializer(many=True),
            "text/csv": OpenApiTypes.STR,
        },
        responses={
            200: OpenApiResponse(
                ImportResultSerializer,
                description="Every row passed the first pass; each was then created or failed.",
            ),
            (413, PROBLEM_CONTENT_TYPE): OpenApiResponse(
                ProblemSerializer,
                description=f"More than {MAX_ROWS_PER_REQUEST} rows: send them in several "
                "requests.",
            ),
        },
        examples=[
            OpenApiExample(
                "A refresh token",
                value={
                    "name": "Northwind Traders",
                    "slug": "northwind",
                    "admin_email": "nora.admin@northwind.example",
                    "grant_mode": "acg",
                    "refresh_token": "eyJ0eXAiOiJNVCIsImFsZyI6…",
                },
                request_only=True,
                media_type="application/json",
            ),
            OpenApiExample(
                "A JWT user id",
                value={
                    "name": "Contoso Europe",
                    "slug": "contoso-eu",
                    "admin_email": "carl.admin@contoso.example",
                    "grant_mode": "jwt",
                    "account_id": "a4ec37d6-04c4-4f1c-9c1e-1d6e5fa1b2c3",
                    "user_id": "4799e5e9-1559-4915-9862-cf4713bbcacc",
                },
                request_only=True,
                media_type="application/json",
            ),
        ],
    )
    def post(self, request):
        params = query_params(ExistingClientImportQuerySerializer, request)
        csv = isinstance(request.data, CsvText)
        rows = _csv_rows(request.data) if csv else _json_rows(request.data)
        row_name = CSV_ROW if csv else JSON_ROW
        outcome = tenant_import_existing(
            rows=rows,
            default_integration=params.get("integration"),
            request=request,
            row_name=row_name,
        )
        if not outcome.checked:
            raise _refused(outcome.errors, row_name)
        return Response(ImportResultSerializer(_results(rows, outcome, csv=csv)).data)
