"""Existing clients through the partner API (issue 21): each row verified with the emulator over
HTTP; a bad request imports nothing; refresh tokens never come back, nor reach a log or the audit
log."""

import logging

import pytest

from apikeys.models import IdempotentRequest, Scope
from common.models import AuditEvent
from docusign_emulator.testing import (
    TEST_ACCOUNT_1_ID,
    TEST_ACCOUNT_2_ID,
    TEST_ADMIN_USER_ID,
    TEST_CLIENT_ID,
    TEST_ORG_SEED,
    TEST_ORGANIZATION_ID,
    TEST_OUTSIDER_USER_ID,
    TEST_SINGLE_ADMIN_USER_ID,
    TEST_SYSTEM_USER_ID,
)
from portal.api.views.tenant_import import MAX_ROWS_PER_REQUEST
from tenants.docusign import docusign_client_for
from tenants.models import Integration, Tenant, TenantAccount, TenantToken
from tenants.tests.factories import IntegrationFactory, TenantAccountFactory
from tenants.tests.token_helpers import (
    SPOILED_REFRESH_TOKENS,
    refresh_token_for,
    spoiled_refresh_token,
)

pytestmark = pytest.mark.django_db
URL = "/api/v1/tenants/import/"
UNKNOWN_USER_ID = "0badf00d-1111-4222-8333-000000000099"
CSV_HEADER = "name,slug,admin_email,grant_mode,integration,account_id,refresh_token,user_id\n"


@pytest.fixture
def partner(api):
    return api(scopes=[Scope.TENANTS_WRITE])


@pytest.fixture
def post(partner, emulator_integration):
    def send(rows, *, integration=emulator_integration, headers=None):
        query = f"?integration={integration.pk}" if integration is not None else ""
        return partner.post(URL + query, rows, format="json", headers=headers or {})

    return send


def acg(slug: str, token: str, **fields) -> dict:
    return {
        "name": slug.title(),
        "slug": slug,
        "admin_email": f"admin@{slug}.test",
        "grant_mode": "acg",
        "refresh_token": token,
        **fields,
    }


def jwt(slug: str, user_id: str, *, grant_mode="jwt", **fields) -> dict:
    return {
        "name": slug.title(),
        "slug": slug,
        "admin_email": f"admin@{slug}.test",
        "grant_mode": grant_mode,
        "user_id": user_id,
        **fields,
    }


def row_errors(response, index: int = 0) -> dict:
    return {e["field"]: e["message"] for e in response.json()["results"][index]["errors"]}


def problem_fields(response) -> dict:
    assert response["Content-Type"] == "application/problem+json"
    return {e["field"]: e["message"] for e in response.json()["errors"]}


def oauth_calls(emulator) -> dict:
    return {k: v for k, v in emulator.calls().items() if "oauth" in k and v}


def test_a_refresh_token_row_is_verified_and_created_and_the_token_never_comes_back(
    post, emulator, caplog
):
    token = refresh_token_for(emulator)
    caplog.set_level(logging.DEBUG)

    response = post([acg("acme", token)], headers={"Idempotency-Key": "import-acme"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["failed"]) == (1, 0)
    [result] = body["results"]
    assert (result["index"], result["line"], result["slug"], result["status"]) == (
        0,
        None,
        "acme",
        "created",
    )
    assert result["tenant"]["status"] == "consented"
    assert result["tenant"]["account_id"] == TEST_ACCOUNT_2_ID
    assert result["tenant"]["user_id"] == TEST_SINGLE_ADMIN_USER_ID
    tenant = Tenant.objects.get(slug="acme")
    assert result["tenant"]["id"] == tenant.pk
    assert tenant.status == Tenant.Status.CONSENTED
    assert tenant.account.consent_level == TenantAccount.ConsentLevel.IMPORTED
    stored = TenantToken.objects.get(tenant=tenant)
    assert stored.refresh_token not in ("", token)  # rotated: the new one is kept
    info = docusign_client_for(tenant.integration).oauth.userinfo(stored.access_token)
    assert info.sub == TEST_SINGLE_ADMIN_USER_ID
    assert IdempotentRequest.objects.count() == 1
    for secret in (token, stored.refresh_token):
        assert secret not in response.content.decode()
        assert secret not in caplog.text
        assert not AuditEvent.objects.filter(message__contains=secret).exists()
        assert all(secret not in kept.response_body for kept in IdempotentRequest.objects.all())


def test_jwt_and_organization_user_ids_are_verified_by_a_jwt_grant(post, emulator):
    emulator.grant_consent(TEST_ADMIN_USER_ID, TEST_CLIENT_ID)
    emulator.seed(TEST_ORG_SEED)
    emulator.grant_org_consent(TEST_ORGANIZATION_ID, TEST_CLIENT_ID)

    response = post(
        [
            jwt("two", TEST_ADMIN_USER_ID, account_id=TEST_ACCOUNT_2_ID),
            jwt("one", TEST_SYSTEM_USER_ID, grant_mode="org_jwt", account_id=TEST_ACCOUNT_1_ID),
        ]
    )

    assert response.status_code == 200, response.content
    assert [r["status"] for r in response.json()["results"]] == ["created", "created"]
    two = TenantAccount.objects.get(tenant__slug="two")
    assert (two.account_id, two.user_id) == (TEST_ACCOUNT_2_ID, TEST_ADMIN_USER_ID)
    one = TenantAccount.objects.get(tenant__slug="one")
    assert (one.account_id, one.user_id) == (TEST_ACCOUNT_1_ID, TEST_SYSTEM_USER_ID)
    assert Tenant.objects.get(slug="one").grant_mode == Tenant.GrantMode.ORG_ADMIN
    assert TenantToken.objects.get(tenant__slug="one").refresh_token == ""


@pytest.mark.parametrize(("spoil", "words"), SPOILED_REFRESH_TOKENS)
def test_a_refused_refresh_token_fails_its_row_only_and_stores_nothing_for_it(
    post, emulator, spoil, words
):
    good = refresh_token_for(emulator)
    bad = spoiled_refresh_token(emulator, spoil)

    response = post([acg("bad", bad, account_id=TEST_ACCOUNT_1_ID), acg("good", good)])

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["failed"]) == (1, 1)
    assert [r["status"] for r in body["results"]] == ["failed", "created"]
    assert body["results"][0]["tenant"] is None
    assert words in row_errors(response)["refresh_token"]
    assert not Tenant.objects.filter(slug="bad").exists()
    assert not TenantAccount.objects.filter(account_id=TEST_ACCOUNT_1_ID).exists()
    assert bad not in response.content.decode()


def test_an_account_whose_base_uri_is_not_allowed_fails_and_stores_nothing(
    post, emulator, emulator_server
):
    integration = IntegrationFactory(
        environment=Integration.Environment.DEMO, auth_base_url=emulator_server.url
    )

    response = post([acg("acme", refresh_token_for(emulator))], integration=integration)

    assert response.status_code == 200, response.content
    assert "not an allowed host" in row_errors(response)["account_id"]
    assert not Tenant.objects.exists()
    assert not TenantToken.objects.exists()


def test_a_user_id_that_does_not_exist_fails_naming_user_id(post, emulator):
    response = post([jwt("ghost", UNKNOWN_USER_ID)])

    assert response.status_code == 200, response.content
    assert "no user with this id" in row_errors(response)["user_id"]
    assert not Tenant.objects.exists()


def test_a_user_outside_the_claimed_domains_fails_for_organization_consent(post, emulator):
    emulator.seed(TEST_ORG_SEED)
    emulator.grant_org_consent(TEST_ORGANIZATION_ID, TEST_CLIENT_ID)

    response = post([jwt("outside", TEST_OUTSIDER_USER_ID, grant_mode="org_jwt")])

    assert response.status_code == 200, response.content
    assert "claimed domains" in row_errors(response)["user_id"]
    assert not Tenant.objects.exists()
    assert not TenantAccount.objects.exists()


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"slug": "acme"}, "body", "Expected a list"),
        ([], "body", "may not be empty"),
        ([{"name": "A", "slug": "a", "admin_email": "a@a.test"}], "[0].grant_mode", "required"),
        ([acg("acme", "t", admin_email="not-an-email")], "[0].admin_email", "email"),
        ([acg("acme", "t", colour="red")], "[0].colour", "Unknown field"),
        ([acg("acme", "t", integration=999999)], "[0].integration", "No active integration"),
        ([jwt("acme", "hr-dept")], "[0].user_id", "GUID"),
        ([acg("acme", "t", grant_mode="implicit")], "[0].grant_mode", "acg"),
        ([acg("acme", "")], "[0].refresh_token", "an acg row needs the refresh token"),
    ],
)
def test_a_malformed_body_is_a_422_naming_the_field_and_nothing_is_called_or_stored(
    post, emulator, body, field, words
):
    emulator.reset_calls()

    response = post(body)

    assert response.status_code == 422, response.content
    assert words in problem_fields(response)[field]
    assert not Tenant.objects.exists()
    assert not oauth_calls(emulator)


def test_unreadable_json_is_a_400(partner, emulator_integration):
    response = partner.post(
        f"{URL}?integration={emulator_integration.pk}",
        data=b'[{"name": ',
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "body" in problem_fields(response)


def test_duplicate_rows_are_refused_together_and_nothing_is_verified(post, emulator):
    TenantAccountFactory(account_id=TEST_ACCOUNT_2_ID)
    token = refresh_token_for(emulator)
    emulator.reset_calls()

    response = post(
        [
            acg("acme", token, account_id=TEST_ACCOUNT_1_ID),
            acg("acme", token),
            jwt("other", TEST_ADMIN_USER_ID, account_id=TEST_ACCOUNT_1_ID),
            jwt("taken", TEST_ADMIN_USER_ID, account_id=TEST_ACCOUNT_2_ID),
        ]
    )

    assert response.status_code == 422, response.content
    fields = problem_fields(response)
    assert "also used on [0]" in fields["[1].slug"]
    assert "also used on [0]" in fields["[2].account_id"]
    assert "already linked" in fields["[3].account_id"]
    assert "[0].slug" not in fields
    assert token not in response.content.decode()
    assert not Tenant.objects.filter(slug="acme").exists()
    assert not oauth_calls(emulator)
    refused = AuditEvent.objects.get(action="tenant.import_existing")
    assert refused.outcome == AuditEvent.Outcome.FAILURE
    assert token not in refused.message


def test_a_row_without_an_integration_needs_the_default_one(post, emulator):
    response = post([acg("acme", "token")], integration=None)

    assert response.status_code == 422
    assert "integration" in problem_fields(response)["[0].integration"]


def test_more_rows_than_allowed_are_a_413_and_nothing_is_imported(post, partner, emulator):
    emulator.reset_calls()
    rows = [acg(f"c{i}", "t") for i in range(MAX_ROWS_PER_REQUEST + 1)]

    response = post(rows)

    assert response.status_code == 413
    assert f"At most {MAX_ROWS_PER_REQUEST} rows" in problem_fields(response)["body"]
    lines = "".join(f"C{i},c{i},a@c{i}.test,acg,,,t,\n" for i in range(MAX_ROWS_PER_REQUEST + 1))
    as_csv = partner.post(URL, data=CSV_HEADER + lines, content_type="text/csv")
    assert as_csv.status_code == 413
    assert not Tenant.objects.exists()
    assert not oauth_calls(emulator)


def test_a_csv_body_uses_the_staff_upload_columns(partner, emulator, emulator_integration):
    token = refresh_token_for(emulator)
    text = CSV_HEADER + f"Acme,acme,a@acme.test,acg,{emulator_integration.name},,{token},\n"

    response = partner.post(URL, data=text.encode(), content_type="text/csv; charset=utf-8")

    assert response.status_code == 200, response.content
    [result] = response.json()["results"]
    assert (result["index"], result["line"], result["status"]) == (0, 2, "created")
    assert Tenant.objects.get(slug="acme").integration == emulator_integration
    assert token not in response.content.decode()


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("name,slug\nA,a\n", "body", "line 1: The header row must use the columns"),
        (CSV_HEADER, "body", "no client rows"),
        (CSV_HEADER + "A,a,a@a.test,acg,Nope,,t,\n", "line 2.integration", "no integration"),
        (CSV_HEADER + "A,a,a@a.test,acg,,,t,\nB,a,b@a.test,acg,,,t,\n", "line 3.slug", "line 2"),
    ],
)
def test_a_bad_csv_body_is_a_422_naming_the_line(partner, emulator_integration, text, field, words):
    response = partner.post(
        f"{URL}?integration={emulator_integration.pk}", data=text, content_type="text/csv"
    )

    assert response.status_code == 422, response.content
    assert words in problem_fields(response)[field]
    assert not Tenant.objects.exists()


def test_a_retry_with_the_idempotency_key_replays_the_answer_without_calling_docusign(
    post, emulator
):
    token = refresh_token_for(emulator)
    first = post([acg("acme", token)], headers={"Idempotency-Key": "import-1"})
    emulator.reset_calls()

    again = post([acg("acme", token)], headers={"Idempotency-Key": "import-1"})

    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Tenant.objects.filter(slug="acme").count() == 1
    assert not oauth_calls(emulator)


def test_the_same_idempotency_key_with_another_default_integration_is_refused(
    post, emulator, emulator_integration
):
    rows = [acg("acme", refresh_token_for(emulator))]
    post(rows, headers={"Idempotency-Key": "import-2"})

    other = post(rows, integration=IntegrationFactory(), headers={"Idempotency-Key": "import-2"})

    assert other.status_code == 422
    assert "Idempotency-Key" in problem_fields(other)
