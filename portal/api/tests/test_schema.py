"""The OpenAPI document is valid, warning-free, and says for every operation what it needs and
what it may answer (what a generated client relies on)."""

import json

import pytest
from django.core.management import call_command

from apikeys.models import Scope


@pytest.fixture(scope="module")
def document(tmp_path_factory):
    path = tmp_path_factory.mktemp("schema") / "openapi.json"
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", path
    )
    return json.loads(path.read_text())


def _operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method.upper(), operation


def test_every_operation_names_its_scope_its_problems_and_a_unique_id(document):
    operations = list(_operations(document))
    assert len(operations) >= 20
    assert len({op["operationId"] for _, _, op in operations}) == len(operations)
    for path, method, operation in operations:
        assert operation["x-required-scope"] in Scope.values, (method, path)
        assert operation["security"] == [{"ApiKey": []}], (method, path)
        for code in ("401", "403", "429"):
            content = operation["responses"][code]["content"]
            assert list(content) == ["application/problem+json"], (method, path, code)
        if method == "POST":
            names = [p["name"] for p in operation.get("parameters", [])]
            assert "Idempotency-Key" in names, path


def test_forwarding_is_read_and_managed_with_its_own_scopes(document):
    scopes = {
        (method, path.removeprefix("/api/v1")): operation["x-required-scope"]
        for path, method, operation in _operations(document)
        if "destinations" in path
    }

    assert scopes == {
        ("GET", "/integrations/{integration_id}/destinations/"): "forwarding:read",
        ("POST", "/integrations/{integration_id}/destinations/"): "forwarding:write",
        ("GET", "/destinations/{destination_id}/"): "forwarding:read",
        ("PATCH", "/destinations/{destination_id}/"): "forwarding:write",
        ("DELETE", "/destinations/{destination_id}/"): "forwarding:write",
        ("POST", "/destinations/{destination_id}/rotate-secret/"): "forwarding:write",
        ("POST", "/destinations/{destination_id}/pause/"): "forwarding:write",
        ("POST", "/destinations/{destination_id}/resume/"): "forwarding:write",
        ("GET", "/destinations/{destination_id}/deliveries/"): "forwarding:read",
        (
            "POST",
            "/destinations/{destination_id}/deliveries/{delivery_id}/replay/",
        ): "forwarding:write",
        ("POST", "/destinations/{destination_id}/replay-dead/"): "forwarding:write",
        ("POST", "/destinations/{destination_id}/replay-tenant-events/"): "forwarding:write",
    }


def test_a_signing_secret_is_documented_as_shown_once_and_only_where_it_is_made(document):
    schemas = document["components"]["schemas"]
    carrying = sorted(
        name for name, s in schemas.items() if "signing_secret" in s.get("properties", {})
    )

    assert carrying == ["DestinationCreated", "SecretRotated"]
    for name in carrying:
        secret = schemas[name]["properties"]["signing_secret"]
        assert secret["nullable"] is True
        assert "never shown again" in secret["description"]
    assert "envelope-completed" in schemas["EventTypesEnum"]["enum"]
    attempt = schemas["Attempt"]["properties"]
    assert {"status_code", "latency_ms", "response_excerpt", "error"} <= set(attempt)


def test_request_bodies_are_closed(document):
    schemas = document["components"]["schemas"]
    for name, schema in schemas.items():
        if name.endswith("Request"):
            assert schema.get("additionalProperties") is False, name


def test_the_import_takes_json_rows_or_csv_and_never_returns_a_refresh_token(document):
    operation = document["paths"]["/api/v1/tenants/import/"]["post"]
    assert operation["x-required-scope"] == Scope.TENANTS_WRITE
    content = operation["requestBody"]["content"]
    assert set(content) == {"application/json", "text/csv"}
    assert content["application/json"]["schema"]["type"] == "array"
    for code in ("413", "422"):
        assert list(operation["responses"][code]["content"]) == ["application/problem+json"]
    schemas = document["components"]["schemas"]
    row = schemas["ExistingClientRowRequest"]
    assert row["properties"]["refresh_token"]["writeOnly"] is True
    answers = {name: schema for name, schema in schemas.items() if not name.endswith("Request")}
    assert "refresh_token" not in json.dumps(answers)
