import pytest

from common.models import AuditEvent
from common.services import REDACTED, audit_record

pytestmark = pytest.mark.django_db


def test_audit_rows_are_append_only():
    event = audit_record(action="test.thing", actor_label="scheduler")
    event.message = "changed"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().update(message="x")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).message == ""


def test_secret_looking_keys_never_reach_the_audit_log():
    event = audit_record(
        action="integration.update",
        actor_label="scheduler",
        before={"secret_key": "s3cr3t", "name": "Old", "nested": {"refresh_token": "rt-1"}},
        after={
            "client_secret": "abc",
            "rsa_private_key": "-----BEGIN",
            "code": "auth-code",
            "code_verifier": "v",
            "access_token": "at",
            "token_expires_at": "2026-01-01",
        },
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.before == {
        "secret_key": REDACTED,
        "name": "Old",
        "nested": {"refresh_token": REDACTED},
    }
    assert stored.after["client_secret"] == REDACTED
    assert stored.after["rsa_private_key"] == REDACTED
    assert stored.after["code"] == REDACTED
    assert stored.after["code_verifier"] == REDACTED
    assert stored.after["access_token"] == REDACTED
    assert stored.after["token_expires_at"] == "2026-01-01"


def test_audit_page_filters_by_action_and_exports_neutralised_csv(staff_client):
    from django.urls import reverse

    audit_record(
        action="tenant.create",
        actor_label="=cmd|' /C calc'!A0",
        target_type="tenant",
        target_id="7",
    )
    audit_record(action="auth.login", actor_label="someone")
    client = staff_client("support")
    page = client.get(reverse("audit-list"), {"action": "tenant."})
    assert page.status_code == 200
    actions = {e.action for e in page.context["page"]}
    assert actions == {"tenant.create"}

    export = client.get(reverse("audit-export"), {"action": "tenant."})
    body = b"".join(export.streaming_content).decode()
    assert "'=cmd" in body  # a spreadsheet will not run it
    assert "auth.login" not in body
