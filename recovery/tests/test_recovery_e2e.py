"""End to end with the emulator: the listener goes down while envelopes complete, the failures are
copied into the portal, the outage window is republished, and every event arrives exactly once."""

from collections import Counter
from datetime import timedelta

import pytest
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from common.models import BulkOperation
from connect.budget import BudgetExhausted
from docusign_api import DocuSignRateLimited, DocuSignUnavailable
from docusign_emulator.testing import TEST_ACCOUNT_1_ID
from events.models import ConnectEvent
from recovery.models import DeliveryFailure, TenantRecovery
from recovery.services.completeness import tenant_completeness_check
from recovery.services.failures import NO_ENVELOPE_REASON, delivery_failures_copy
from recovery.services.republish import (
    UNANSWERED,
    RepublishError,
    delivery_failures_republish,
    tenant_republish_queued_run,
)

pytestmark = pytest.mark.django_db(transaction=True)
State = DeliveryFailure.State


def _account_calls(emulator, key: str) -> int:
    return emulator.calls()["by_account"].get(TEST_ACCOUNT_1_ID, {}).get(key, 0)


def _events_once() -> bool:
    dupes = (
        ConnectEvent.objects.values("envelope_id", "event").annotate(n=Count("id")).filter(n__gt=1)
    )
    return not dupes.exists()


def test_outage_failures_are_copied_republished_by_window_and_received_exactly_once(
    emulator, listener, tenant, make_staff
):
    listener.down()
    outage_start = timezone.now() - timedelta(seconds=1)
    made = emulator.simulate_envelopes(TEST_ACCOUNT_1_ID, count=4)
    assert all(d["status"] == "failed" for m in made for d in m["deliveries"])
    assert ConnectEvent.objects.count() == 0

    assert delivery_failures_copy(tenant_id=tenant.pk) == 12
    assert delivery_failures_copy(tenant_id=tenant.pk) == 0  # a re-read adds nothing
    failures = DeliveryFailure.objects.filter(tenant=tenant)
    assert failures.count() == 12
    assert Counter(f.event for f in failures) == {
        "envelope-sent": 4, "envelope-delivered": 4, "envelope-completed": 4
    }  # fmt: skip
    assert {f.state for f in failures} == {State.OPEN}
    assert all("ConnectionRefused" in f.error or "Connection" in f.error for f in failures)

    listener.up()
    emulator.reset_calls()
    operation = delivery_failures_republish(
        actor=make_staff(), start=outage_start, end=timezone.now()
    )

    operation.refresh_from_db()
    assert operation.kind == BulkOperation.Kind.CONNECT_REPUBLISH
    assert (operation.total, operation.succeeded, operation.finished_at is not None) == (1, 1, True)
    assert {f.state for f in failures.all()} == {State.RECOVERED}
    assert all(f.recovered_event_id for f in failures.all())
    assert ConnectEvent.objects.count() == 12
    assert _events_once()
    # Four envelopes, one batch: one retry_queue call for the whole tenant.
    assert _account_calls(emulator, "PUT /restapi/connect/envelopes/retry_queue") == 1
    assert emulator.state()["failures"] == []
    assert set(failures.values_list("republish_operation_id", flat=True)) == {operation.pk}


def test_the_bulk_page_shows_the_events_coming_back(staff_client, tenant):
    rows = [
        DeliveryFailure(
            tenant=tenant,
            source=DeliveryFailure.Source.FAILURE_LOG,
            source_id=f"f{i}",
            envelope_id=f"env-{i}",
            state=state,
        )
        for i, state in enumerate([State.RECOVERED, State.RECOVERED, State.REPUBLISHED])
    ]
    DeliveryFailure.objects.bulk_create(rows)
    operation = BulkOperation.objects.create(
        kind=BulkOperation.Kind.CONNECT_REPUBLISH, total=1, succeeded=1, finished_at=timezone.now()
    )
    DeliveryFailure.objects.update(republish_operation_id=operation.pk)
    client = staff_client()

    page = client.get(reverse("bulk-progress", kwargs={"operation_id": operation.pk}))

    html = page.content.decode()
    assert "Events back: <strong>2</strong> of 3" in html
    assert "1 on their way" in html
    assert 'hx-trigger="every 1s"' in html  # still polling: one event is on its way


def test_a_republish_that_fails_again_stays_visible_with_the_new_error(
    emulator, listener, tenant, make_staff
):
    listener.down()
    emulator.simulate_envelopes(TEST_ACCOUNT_1_ID, count=1, statuses=["sent"])
    delivery_failures_copy(tenant_id=tenant.pk)
    emulator.drift_edit(
        TEST_ACCOUNT_1_ID, listener.connect_id, urlToPublishTo="http://127.0.0.1:9/other/"
    )

    delivery_failures_republish(actor=make_staff(), tenant=tenant)

    failure = DeliveryFailure.objects.get(tenant=tenant)
    assert failure.state == State.FAILED_AGAIN
    assert "Connection" in failure.state_reason
    assert failure.republish_count == 1
    assert ConnectEvent.objects.count() == 0


def test_a_silently_dropped_delivery_is_found_by_the_completeness_check_and_recovered(
    emulator, listener, tenant, settings
):
    settings.RECOVERY_COMPLETENESS_GRACE_S = 0
    settings.RECOVERY_AUTO_REPUBLISH = True
    emulator.drop_deliveries(1, account_id=TEST_ACCOUNT_1_ID, event="envelope-completed")
    made = emulator.simulate_envelopes(TEST_ACCOUNT_1_ID, count=3)
    lost = made[0]["envelopeId"]
    assert emulator.state()["failures"] == []  # DocuSign recorded nothing
    assert ConnectEvent.objects.filter(event="envelope-completed").count() == 2

    percent = tenant_completeness_check(tenant_id=tenant.pk)

    assert percent == pytest.approx(200 / 3, abs=0.01)
    gap = DeliveryFailure.objects.get(tenant=tenant, source=DeliveryFailure.Source.COMPLETENESS)
    assert (gap.envelope_id, gap.event) == (lost, "envelope-completed")
    assert gap.state == State.RECOVERED  # republished automatically, and the event arrived
    assert ConnectEvent.objects.filter(envelope_id=lost, event="envelope-completed").count() == 1
    assert tenant_completeness_check(tenant_id=tenant.pk) == 100.0
    state = TenantRecovery.objects.get(tenant=tenant)
    assert (state.completeness_expected, state.completeness_received) == (3, 3)


def test_without_the_setting_a_gap_waits_for_staff(emulator, listener, tenant, settings):
    settings.RECOVERY_COMPLETENESS_GRACE_S = 0
    emulator.drop_deliveries(1, account_id=TEST_ACCOUNT_1_ID, event="envelope-completed")
    emulator.simulate_envelopes(TEST_ACCOUNT_1_ID, count=1)
    assert tenant_completeness_check(tenant_id=tenant.pk) == 0.0
    assert DeliveryFailure.objects.get(tenant=tenant).state == State.OPEN


def test_the_copy_and_the_check_stay_within_the_accounts_budget(
    emulator, listener, tenant, settings
):
    settings.CONNECT_BUDGET_BURST = 1
    emulator.reset_calls()
    with pytest.raises(BudgetExhausted):
        delivery_failures_copy(tenant_id=tenant.pk)  # failures fit, the logs read does not
    with pytest.raises(BudgetExhausted):
        tenant_completeness_check(tenant_id=tenant.pk)
    calls = emulator.calls()["by_account"][TEST_ACCOUNT_1_ID]
    assert sum(calls.values()) == 1
    assert calls == {"GET /restapi/connect/failures": 1}


def test_faults_are_shown_with_their_reason_and_nothing_unreceived_is_recovered(
    emulator, listener, tenant, make_staff, settings
):
    listener.down()
    emulator.simulate_envelopes(TEST_ACCOUNT_1_ID, count=1, statuses=["sent"])
    emulator.add_failure(TEST_ACCOUNT_1_ID, envelope_id="", error="Listener unreachable")
    delivery_failures_copy(tenant_id=tenant.pk)
    orphan = DeliveryFailure.objects.get(tenant=tenant, envelope_id="")
    assert (orphan.state, orphan.state_reason) == (State.CANNOT_REPUBLISH, NO_ENVELOPE_REASON)
    DeliveryFailure.objects.create(
        tenant=tenant,
        source=DeliveryFailure.Source.COMPLETENESS,
        source_id="not-in-this-account:completed",
        envelope_id="not-in-this-account",
        envelope_status="completed",
        docusign_created_at=timezone.now(),
    )

    # A rate-limit answer: nothing changes, the rows wait for the window.
    emulator.config(rate_limit_status=429)
    emulator.set_rate_limit(TEST_ACCOUNT_1_ID, burst_remaining=0)
    DeliveryFailure.objects.exclude(envelope_id="").update(state=State.QUEUED)
    with pytest.raises(DocuSignRateLimited):
        tenant_republish_queued_run(tenant_id=tenant.pk)
    assert set(DeliveryFailure.objects.exclude(envelope_id="").values_list("state", flat=True)) == {
        State.QUEUED
    }
    DeliveryFailure.objects.exclude(envelope_id="").update(state=State.OPEN)
    emulator.set_rate_limit(TEST_ACCOUNT_1_ID, burst_remaining=100)

    # Per-envelope errors: the unknown envelope fails with DocuSign's reason; the listener is
    # still down, so the real one fails again too.
    delivery_failures_republish(actor=make_staff(), tenant=tenant)
    unknown = DeliveryFailure.objects.get(envelope_id="not-in-this-account")
    assert unknown.state == State.FAILED_AGAIN
    assert "ENVELOPE_DOES_NOT_EXIST" in unknown.state_reason
    assert not DeliveryFailure.objects.filter(state=State.RECOVERED).exists()

    # Connect disabled: the whole call is refused and each row says why.
    emulator.set_connect_enabled(TEST_ACCOUNT_1_ID, False)
    delivery_failures_republish(actor=make_staff(), tenant=tenant)
    reasons = set(
        DeliveryFailure.objects.exclude(envelope_id="").values_list("state_reason", flat=True)
    )
    assert all("CONNECT_NOT_ENABLED" in reason for reason in reasons)
    assert not DeliveryFailure.objects.filter(state=State.RECOVERED).exists()
    with pytest.raises(RepublishError):
        delivery_failures_republish(actor=make_staff(), envelope_id="nothing-like-it")


def test_an_unanswered_republish_is_not_sent_again_so_nothing_arrives_twice(
    emulator, listener, tenant, settings
):
    listener.down()
    emulator.simulate_envelopes(TEST_ACCOUNT_1_ID, count=2, statuses=["sent"])
    delivery_failures_copy(tenant_id=tenant.pk)
    listener.up()
    settings.DOCUSIGN_READ_TIMEOUT_S = 0.5
    emulator.fault("PUT /restapi/connect/envelopes/retry_queue", kind="timeout", count=1, delay_s=2)
    emulator.reset_calls()
    DeliveryFailure.objects.update(state=State.QUEUED)

    with pytest.raises(DocuSignUnavailable):
        tenant_republish_queued_run(tenant_id=tenant.pk)

    assert _account_calls(emulator, "PUT /restapi/connect/envelopes/retry_queue") == 1
    rows = DeliveryFailure.objects.filter(tenant=tenant)
    assert {r.state for r in rows} == {State.REPUBLISHED}
    assert all(r.state_reason == UNANSWERED for r in rows)
    assert ConnectEvent.objects.count() == 0


def test_without_acknowledgement_a_failure_is_only_in_the_connect_log_and_copied_from_there(
    emulator, listener, tenant
):
    emulator.drift_edit(TEST_ACCOUNT_1_ID, listener.connect_id, requiresAcknowledgement="false")
    listener.down()
    emulator.simulate_envelopes(TEST_ACCOUNT_1_ID, count=1, statuses=["sent"])
    assert emulator.state()["failures"] == []  # DocuSign does not queue it without the flag

    assert delivery_failures_copy(tenant_id=tenant.pk) == 1

    row = DeliveryFailure.objects.get(tenant=tenant)
    assert row.source == DeliveryFailure.Source.CONNECT_LOG
    assert row.state == State.OPEN


def test_a_failure_in_both_logs_is_copied_once(emulator, listener, tenant):
    listener.down()
    emulator.simulate_envelopes(TEST_ACCOUNT_1_ID, count=1, statuses=["sent"])
    assert len(emulator.state()["failures"]) == 1
    assert delivery_failures_copy(tenant_id=tenant.pk) == 1
    assert DeliveryFailure.objects.get().source == DeliveryFailure.Source.FAILURE_LOG


def test_a_failure_docusign_forgot_after_the_copy_is_still_listed_and_recoverable(
    emulator, listener, tenant, make_staff
):
    listener.down()
    emulator.simulate_envelopes(TEST_ACCOUNT_1_ID, count=1, statuses=["sent", "completed"])
    delivery_failures_copy(tenant_id=tenant.pk)
    emulator.config(failure_log_retention_s=60)
    emulator.advance_clock(120)
    assert delivery_failures_copy(tenant_id=tenant.pk) == 0
    assert emulator.state()["failures"] == []
    listener.up()

    delivery_failures_republish(actor=make_staff(), tenant=tenant)

    # DocuSign resends the envelope's current status; the failure for it is recovered, the one
    # for the earlier status stays open (its event never came back).
    states = dict(DeliveryFailure.objects.values_list("envelope_status", "state"))
    assert states == {"completed": State.RECOVERED, "sent": State.REPUBLISHED}


def test_a_redis_error_in_the_budget_check_pauses_a_bulk_republish_with_a_sentence(
    emulator, listener, tenant, settings, monkeypatch
):
    """Redis away while the budget is checked: nothing is sent, the failures stay queued, the item
    says why in a sentence, and the rest continues in a task after the wait."""
    from recovery.services.republish import republish_for_bulk
    from recovery.tasks import tenant_republish_queued
    from testing.chaos import free_port

    listener.down()
    emulator.simulate_envelopes(TEST_ACCOUNT_1_ID, count=2, statuses=["sent"])
    delivery_failures_copy(tenant_id=tenant.pk)
    later: list[tuple] = []
    monkeypatch.setattr(
        tenant_republish_queued, "apply_async", lambda args, countdown: later.append(args)
    )
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    sent_before = _account_calls(emulator, "PUT /restapi/connect/envelopes/retry_queue")

    result = republish_for_bulk(tenant_id=tenant.pk, actor_id=None)

    assert result.message.startswith("The shared DocuSign call budget could not be checked")
    assert "Redis" in result.message
    assert "Error" not in result.message
    assert later == [(tenant.pk,)]
    assert _account_calls(emulator, "PUT /restapi/connect/envelopes/retry_queue") == sent_before
    assert set(DeliveryFailure.objects.values_list("state", flat=True)) == {State.QUEUED}
