from datetime import timedelta

import pytest
from django.utils import timezone

from common.models import AuditEvent
from common.services import audit_record
from tenants.models import ConsentAttempt
from tenants.tasks import consent_attempts_purge
from tenants.tests.factories import ConsentAttemptFactory

pytestmark = pytest.mark.django_db


def test_purge_drops_attempts_a_day_past_expiry_with_their_pending_tokens_and_keeps_the_rest():
    now = timezone.now()
    stale = ConsentAttemptFactory(
        expires_at=now - timedelta(days=1, minutes=1),
        outcome=ConsentAttempt.Outcome.CHOOSING_ACCOUNT,
        pending_access_token="pending-access-token",
        pending_refresh_token="pending-refresh-token",
    )
    recently_expired = ConsentAttemptFactory(expires_at=now - timedelta(hours=2))
    live = ConsentAttemptFactory(expires_at=now + timedelta(minutes=5))
    audit_record(action="consent.start", actor_label="client-admin", target=stale.tenant)

    assert consent_attempts_purge() == 1

    remaining = set(ConsentAttempt.objects.values_list("pk", flat=True))
    assert remaining == {recently_expired.pk, live.pk}
    # The trail of what happened stays.
    assert AuditEvent.objects.filter(
        action="consent.start", target_id=str(stale.tenant.pk)
    ).exists()
    assert consent_attempts_purge() == 0
