import time
from datetime import timedelta

import pytest
from django.utils import timezone

from apikeys.models import ApiRateWindow, IdempotentRequest
from apikeys.tasks import api_housekeeping
from apikeys.tests.factories import api_key_issue
from portal.celery import app


@pytest.mark.django_db
def test_housekeeping_forgets_old_answers_and_windows_only():
    key = api_key_issue().api_key
    now = timezone.now()
    IdempotentRequest.objects.create(
        api_key=key, key="old", fingerprint="f", created_at=now - timedelta(hours=25)
    )
    IdempotentRequest.objects.create(api_key=key, key="new", fingerprint="f", created_at=now)
    ApiRateWindow.objects.create(api_key=key, window_start=int(time.time()) - 3600)
    ApiRateWindow.objects.create(api_key=key, window_start=int(time.time()))

    assert api_housekeeping() == {"idempotency": 1, "rate_windows": 1}
    assert list(IdempotentRequest.objects.values_list("key", flat=True)) == ["new"]


def test_beat_runs_the_housekeeping():
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "apikeys.tasks.api_housekeeping" in scheduled
