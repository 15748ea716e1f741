"""The fleet's "needs a human" categories and which tenants are in each: one Q per category,
which the dashboard's counts, the tenant list's filter and the alerts all apply (through
`attention.py`), so the three always agree. The words staff read are in `attention_reasons.py`.

Tenants never import Connect; its per-tenant state and templates are reached through the reverse
relations Connect declares (`connect_state`, `integration__connect_templates`,
`connect_assignments`), and its status values are spelled out here.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import (
    BooleanField,
    Case,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce
from django.db.models.lookups import LessThan
from django.utils import timezone

from tenants.models import Integration, Invite, Tenant

# A refresh token (and so the consent behind it) lapsing within this many days needs a human.
LAPSE_WARNING_DAYS = 7
# DocuSign counts calls per account across every app of the client (API.md 4): when the last sync
# saw less than this share left in the current hour, the client's own integrations are at risk.
RATE_LIMIT_LOW_PERCENT = 10


@dataclass(frozen=True)
class Attention:
    key: str
    label: str
    help: str


ATTENTION = [
    Attention("needs_reconsent", "Needs re-consent", "DocuSign refused the tenant's grant."),
    Attention(
        "consent_failed",
        "Consent failed",
        "The client admin tried to consent and it failed; the reason says what to do.",
    ),
    Attention(
        "invite_unanswered",
        "Invite unanswered",
        "Invited {unanswered_days} or more days ago and not consented yet.",
    ),
    Attention("invite_expired", "Invite expired", "Invited, but no usable invite is left."),
    Attention(
        "lapsing",
        "Consent about to lapse",
        f"The refresh token ends within {LAPSE_WARNING_DAYS} days.",
    ),
    Attention(
        "behind",
        "Template version behind",
        "A Connect template changed and the account still carries an older version.",
    ),
    Attention("connect_drift", "Connect drift", "DocuSign differs from the desired configuration."),
    Attention("sync_failing", "Sync failing", "The last Connect sync failed."),
    Attention(
        "work_waiting",
        "Work waiting too long",
        "A Connect sync or token refresh waited past its lease (the dashboard's overdue work).",
    ),
    Attention(
        "rate_limit_low",
        "Rate limit nearly spent",
        f"Under {RATE_LIMIT_LOW_PERCENT}% of the account's hourly DocuSign calls left.",
    ),
]
ATTENTION_KEYS = [a.key for a in ATTENTION]
ANY_ATTENTION = "any"
ATTENTION_CHOICES = [(a.key, a.label) for a in ATTENTION]


# Statuses in which a tenant's Connect configuration is kept on DocuSign (connect's SYNCABLE).
CONNECTED_STATUSES = (Tenant.Status.CONSENTED, Tenant.Status.ACTIVE, Tenant.Status.ERROR)


def _open_invite(**conditions: Any) -> Exists:
    """The tenant has an invite neither superseded nor completed that meets `conditions`."""
    return Exists(
        Invite.objects.filter(
            tenant=OuterRef("pk"),
            superseded_at__isnull=True,
            completed_at__isnull=True,
            **conditions,
        )
    )


def _usable_invite() -> Exists:
    return _open_invite(expires_at__gt=timezone.now())


def _current_invite_failed() -> Exists:
    return _open_invite(failed_at__isnull=False)


def _invite_unanswered(now: datetime) -> Exists:
    return _open_invite(
        expires_at__gt=now,
        created_at__lte=now - timedelta(days=settings.INVITE_UNANSWERED_DAYS),
    )


def _behind_q() -> Q:
    """Connected tenants whose account carries an older version of a template that applies to
    them than the template's current one. Templates are few: one condition per active template,
    reached through the reverse relations Connect declares (tenants never import Connect)."""
    templates = (
        Integration.objects.filter(connect_templates__is_active=True)
        .order_by()
        .values_list(
            "pk",
            "connect_templates__pk",
            "connect_templates__slug",
            "connect_templates__current_version",
            "connect_templates__applies_to",
        )
    )
    behind = Q(pk__in=[])
    for integration_id, template_id, slug, version, applies_to in templates:
        carried = Coalesce(
            Cast(KeyTextTransform(slug, "connect_state__versions"), IntegerField()), Value(0)
        )
        one = Q(integration_id=integration_id) & Q(LessThan(carried, version))
        if applies_to != "all":
            one &= Q(
                pk__in=Tenant.objects.filter(connect_assignments__template_id=template_id).values(
                    "pk"
                )
            )
        behind |= one
    return Q(account__isnull=False, status__in=CONNECTED_STATUSES) & behind


def attention_q(key: str, *, now: datetime) -> Q:
    if key == "needs_reconsent":
        return Q(status=Tenant.Status.NEEDS_RECONSENT)
    if key == "consent_failed":
        return Q(_current_invite_failed()) & ~Q(status__in=CONNECTED_STATUSES)
    if key == "invite_unanswered":
        return (
            Q(status=Tenant.Status.INVITED)
            & Q(_invite_unanswered(now))
            & ~Q(_current_invite_failed())
        )
    if key == "invite_expired":
        return Q(status=Tenant.Status.INVITED) & ~Q(_usable_invite())
    if key == "lapsing":
        return Q(
            token__refresh_expires_at__gt=now,
            token__refresh_expires_at__lte=now + timedelta(days=LAPSE_WARNING_DAYS),
        ) & ~Q(status=Tenant.Status.NEEDS_RECONSENT)
    if key == "behind":
        return _behind_q()
    if key == "connect_drift":
        return Q(connect_state__status="drift")
    if key == "sync_failing":
        return Q(connect_state__status="failing")
    if key == "work_waiting":
        # The same lease ends as the dashboard's overdue-work figure (connect, tokens selectors).
        return Q(connect_state__lease_expires_at__lt=now) | Q(
            token__refresh_lease_expires_at__lt=now
        )
    if key == "rate_limit_low":
        return Q(
            connect_state__rate_limit_reset_at__gt=now,
            connect_state__rate_limit_remaining__lt=F("connect_state__rate_limit_limit")
            * RATE_LIMIT_LOW_PERCENT
            / 100,
        )
    raise ValueError(f"Unknown attention category '{key}'.")


def any_attention_q(now: datetime) -> Q:
    any_q = Q(pk__in=[])
    for key in ATTENTION_KEYS:
        any_q |= attention_q(key, now=now)
    return any_q


def with_behind(tenants: QuerySet[Tenant]) -> QuerySet[Tenant]:
    return tenants.annotate(
        is_behind=Case(
            When(_behind_q(), then=Value(True)), default=False, output_field=BooleanField()
        )
    )


def served_tenants() -> QuerySet[Tenant]:
    """Tenants the partner still serves: not archived, not offboarded."""
    return Tenant.objects.filter(archived_at__isnull=True).exclude(status=Tenant.Status.OFFBOARDED)
