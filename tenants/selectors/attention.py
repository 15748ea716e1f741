"""The fleet's "needs a human" categories: which tenants are in each, and why, in words staff can
act on. The dashboard, the tenant list's filter and the alerts all read them from here, so the
three always agree.

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
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
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
ATTENTION_SAMPLE = 5
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
# What staff can do about a failed consent, by ConsentError code (the admin saw their own text).
CONSENT_FAILURE_ADVICE = {
    "account_taken": "They chose a DocuSign account already linked to another tenant: check for a "
    "duplicate tenant, or ask them to choose another account.",
    "access_denied": "They declined access: ask them why, then send a new invite.",
    "wrong_account": "They signed in with a user outside the linked account: ask them to use a "
    "user of that account.",
    "other_account_chosen": "They chose a different account than the one linked: ask them to "
    "choose the linked account, or offboard and register again.",
    "token_error": "DocuSign refused the integration key: check the integration's secret key "
    "and redirect URI.",
    "base_uri_not_allowed": "DocuSign reported an unexpected account address: check "
    "DOCUSIGN_*_BASE_URI_HOSTS.",
    "integration_inactive": "The integration is inactive: activate it, then ask them to retry.",
    "no_accounts": "Their DocuSign user belongs to no account: ask for the account's admin.",
}
CONSENT_FAILURE_DEFAULT_ADVICE = "They were told how to retry; if it persists, send a new invite."
ATTENTION_CHOICES = [(a.key, a.label) for a in ATTENTION]
# Which tenants a category names first: the most pressing, along an indexed column.
ATTENTION_ORDER = {
    "consent_failed": ("name",),
    "lapsing": ("token__refresh_expires_at",),
    "work_waiting": ("connect_state__lease_expires_at",),
    "connect_drift": ("-connect_state__last_sync_at",),
    "sync_failing": ("-connect_state__last_sync_at",),
    "rate_limit_low": ("connect_state__rate_limit_remaining",),
}


def _usable_invite() -> Exists:
    return Exists(
        Invite.objects.filter(
            tenant=OuterRef("pk"),
            superseded_at__isnull=True,
            completed_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
    )


# Statuses in which a tenant's Connect configuration is kept on DocuSign (connect's SYNCABLE).
CONNECTED_STATUSES = (Tenant.Status.CONSENTED, Tenant.Status.ACTIVE, Tenant.Status.ERROR)


def _current_invite_failed() -> Exists:
    return Exists(
        Invite.objects.filter(
            tenant=OuterRef("pk"),
            superseded_at__isnull=True,
            completed_at__isnull=True,
            failed_at__isnull=False,
        )
    )


def _invite_unanswered(now: datetime) -> Exists:
    return Exists(
        Invite.objects.filter(
            tenant=OuterRef("pk"),
            superseded_at__isnull=True,
            completed_at__isnull=True,
            expires_at__gt=now,
            created_at__lte=now - timedelta(days=settings.INVITE_UNANSWERED_DAYS),
        )
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


def one_to_one(tenant: Tenant, name: str) -> Any:
    """The joined one-to-one neighbour, or None; never a query (select_related filled the cache,
    with None where there is no row, which the descriptor would turn into an exception)."""
    return tenant._state.fields_cache.get(name)


def _attention_reason(key: str, tenant: Tenant, now: datetime) -> str:
    if key == "needs_reconsent":
        return tenant.status_reason or "DocuSign refused the grant"
    if key == "consent_failed":
        code = getattr(tenant, "failure_code", "") or "unknown"
        advice = CONSENT_FAILURE_ADVICE.get(code, CONSENT_FAILURE_DEFAULT_ADVICE)
        return f"Consent failed ({code}). {advice}"
    if key == "invite_unanswered":
        sent = getattr(tenant, "invite_created_at", None)
        days = (now - sent).days if sent else settings.INVITE_UNANSWERED_DAYS
        return (
            f"Invite unanswered for {days} day{'s' if days != 1 else ''}: call the admin, or "
            "check the address (reminders go out automatically)."
        )
    if key == "invite_expired":
        expired = getattr(tenant, "invite_expired_at", None)
        return f"Invite expired {expired:%Y-%m-%d}" if expired else "No invite was sent"
    if key == "lapsing":
        lapses_at = one_to_one(tenant, "token").refresh_expires_at
        days = max(0, (lapses_at - now).days)
        return f"Consent lapses {lapses_at:%Y-%m-%d} (in {days} day{'s' if days != 1 else ''})"
    if key == "behind":
        return "A template's new version is not on DocuSign yet: sync the tenant, or wait."
    state = one_to_one(tenant, "connect_state")
    if key == "connect_drift":
        return "Drift reported" + (f": {state.last_error}" if state and state.last_error else "")
    if key == "sync_failing":
        failures = state.consecutive_failures if state else 0
        error = state.last_error if state else ""
        return f"{failures} failed syncs in a row" + (f": {error}" if error else "")
    if key == "work_waiting":
        token = one_to_one(tenant, "token")
        ends = [
            end
            for end in (
                state.lease_expires_at if state else None,
                token.refresh_lease_expires_at if token else None,
            )
            if end is not None and end < now
        ]
        minutes = int((now - min(ends)).total_seconds() // 60) if ends else 0
        return (
            f"Work for this tenant is {minutes} min past its lease: the scheduler re-enqueues "
            "it; if it stays, check the workers and the broker."
        )
    if key == "rate_limit_low":
        return (
            f"{state.rate_limit_remaining} of {state.rate_limit_limit} calls left until "
            f"{state.rate_limit_reset_at:%H:%M} UTC"
        )
    return ""


def _current_invite(field: str) -> Subquery:
    return Subquery(
        Invite.objects.filter(
            tenant=OuterRef("pk"), superseded_at__isnull=True, completed_at__isnull=True
        )
        .order_by("-created_at", "-id")
        .values(field)[:1]
    )


def _attention_tenants(key: str, tenants: QuerySet[Tenant]) -> QuerySet[Tenant]:
    """`tenants` with what `_attention_reason` reads for `key` annotated."""
    if key == "invite_expired":
        return tenants.annotate(
            invite_expired_at=Subquery(
                Invite.objects.filter(tenant=OuterRef("pk"))
                .order_by("-created_at", "-id")
                .values("expires_at")[:1]
            )
        )
    if key == "consent_failed":
        return tenants.annotate(failure_code=_current_invite("failure_code"))
    if key == "invite_unanswered":
        return tenants.annotate(invite_created_at=_current_invite("created_at"))
    return tenants


def tenant_attention_map(*, tenant_ids: list[int] | None = None) -> dict[int, dict[str, str]]:
    """{tenant id: {reason key: reason text}} for every served tenant that needs a human (or only
    those in `tenant_ids`): what alerts compare with the alerts already open. One query per
    category that has any."""
    now = timezone.now()
    served = served_tenants()
    if tenant_ids is not None:
        served = served.filter(pk__in=tenant_ids)
    found: dict[int, dict[str, str]] = {}
    for key in ATTENTION_KEYS:
        rows = _attention_tenants(
            key, served.filter(attention_q(key, now=now)).select_related("token", "connect_state")
        )
        for tenant in rows:
            found.setdefault(tenant.pk, {})[key] = _attention_reason(key, tenant, now)
    return found


def tenant_attention_reasons(*, tenant_id: int) -> list[dict]:
    """The "needs a human" categories one tenant is in, each with its reason: one aggregate, and
    one more query only when there is any."""
    now = timezone.now()
    served = served_tenants().filter(pk=tenant_id)
    flags = served.aggregate(
        **{a.key: Count("pk", filter=attention_q(a.key, now=now)) for a in ATTENTION}
    )
    found = [a for a in ATTENTION if flags[a.key]]
    if not found:
        return []
    tenants = served.select_related("token", "connect_state")
    for attention in found:
        tenants = _attention_tenants(attention.key, tenants)
    tenant = tenants.get()
    return [
        {"key": a.key, "label": a.label, "reason": _attention_reason(a.key, tenant, now)}
        for a in found
    ]


def tenant_attention_summary(*, sample: int = ATTENTION_SAMPLE) -> dict:
    """Each "needs a human" category: its count (one aggregate for all, with the number of
    distinct tenants), and the first few tenants with the reason (one LIMITed query per category
    that has any)."""
    now = timezone.now()
    served = served_tenants()
    counts = served.aggregate(
        **{a.key: Count("pk", filter=attention_q(a.key, now=now)) for a in ATTENTION},
        tenants=Count("pk", filter=any_attention_q(now)),
    )
    summary = []
    for attention in ATTENTION:
        count = counts[attention.key]
        tenants = []
        if count:
            found = _attention_tenants(
                attention.key,
                served.filter(attention_q(attention.key, now=now)).select_related(
                    "token", "connect_state"
                ),
            )
            found = found.order_by(*ATTENTION_ORDER.get(attention.key, ("name",)), "pk")[:sample]
            tenants = [
                {"pk": t.pk, "name": t.name, "reason": _attention_reason(attention.key, t, now)}
                for t in found
            ]
        summary.append(
            {
                "key": attention.key,
                "label": attention.label,
                "help": attention.help.format(unanswered_days=settings.INVITE_UNANSWERED_DAYS),
                "count": count,
                "tenants": tenants,
                "more": max(0, count - len(tenants)),
            }
        )
    return {
        "categories": summary,
        "tenants": counts["tenants"],
        "reasons": sum(item["count"] for item in summary),
    }
