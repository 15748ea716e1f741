"""Property-based checks of every operation against the live OpenAPI document (schemathesis): a
key holding every scope, a live test server, no server error, every answer as documented.

Bounded: a few examples per operation and mode, no shrinking, no example database.

One check is left out: "schema-valid request rejected". A request can match the schema and still
be refused for what no schema can say (an integration id that does not exist, a slug already
taken, a cursor we never issued); those answers are documented (404, 409, 422, 400) and checked
for shape like every other."""

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.specs.openapi import checks

from apikeys.tests.factories import api_key_issue
from tenants.tests.factories import IntegrationFactory, TenantFactory

EXAMPLES = 6
BOUNDS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def test_every_operation_answers_as_documented(live_server, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 1_000_000
    TenantFactory.create_batch(3, integration=IntegrationFactory())
    headers = {"Authorization": f"Bearer {api_key_issue().secret}"}
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/schema/?format=json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    failures = []
    for operation in operations:
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):

            @BOUNDS
            @given(case=operation.as_strategy(generation_mode=mode))
            def check(case):
                case.call_and_validate(
                    headers=headers, excluded_checks=[checks.positive_data_acceptance]
                )

            try:
                check()
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{operation.label} ({mode.value}): {exc}"[:3000])
    assert failures == [], "\n\n".join(failures)
