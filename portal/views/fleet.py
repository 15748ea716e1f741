"""The fleet pages: the tenant list with bulk actions, the tenant page, and bulk progress."""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect
from django.template.defaultfilters import pluralize
from django.template.loader import render_to_string
from django.urls import resolve, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.views.generic import TemplateView, View

from accounts.roles import Perm
from alerts.selectors import alerts_tenant_panel
from common.bulk import bulk_operation_start
from common.models import BulkOperation, BulkOperationItem
from common.selectors import audit_event_list, bulk_operation_get, bulk_operation_items
from connect.selectors.panel import connect_tenant_panel
from events.selectors import events_tenant_panel
from portal.forms.fleet import FILTER_FIELDS, BulkStartForm, TenantFilterForm, bulk_kind_choices
from portal.views.mixins import StaffRequiredMixin, TenantMixin
from recovery.selectors import recovery_tenant_panel, republish_progress
from tenants.models import Tenant
from tenants.selectors.fleet import (
    PAGE_SIZE,
    SORT_CHOICES,
    tenant_fleet_ids,
    tenant_fleet_list,
    tenant_fleet_row,
    tenant_ids_named,
    tenant_status_changes,
)
from tenants.selectors.tenants import tenant_consent_panel
from tenants.selectors.tokens import token_tenant_panel

# The tenant's lifecycle buttons: (URL name, label, style), each shown only to a viewer holding the
# permission its view demands. Invites, re-consent, sync and test events sit in their own panels.
TENANT_ACTIONS = [
    ("tenant-edit", "Edit", "link"),
    ("tenant-archive", "Archive…", "link"),
    ("tenant-unarchive", "Restore", "post"),
    ("tenant-offboard", "Offboard", "link"),
]


def tenant_panels_render(*, tenant: Tenant, request) -> list[dict]:
    """Each area's panel rendered to HTML, in page order, for the page to print as is."""
    panels = [
        ("alerts_tenant_panel", "alerts/_tenant_panel.html", alerts_tenant_panel(tenant=tenant)),
        (
            "tenant_consent_panel",
            "tenants/_tenant_panel.html",
            tenant_consent_panel(tenant=tenant, viewer=request.user),
        ),
        ("token_tenant_panel", "tenants/_token_panel.html", token_tenant_panel(tenant=tenant)),
        (
            "connect_tenant_panel",
            "connect/_tenant_panel.html",
            connect_tenant_panel(tenant=tenant, with_event_notifications=True),
        ),
        ("events_tenant_panel", "events/_tenant_panel.html", events_tenant_panel(tenant=tenant)),
        (
            "recovery_tenant_panel",
            "recovery/_tenant_panel.html",
            recovery_tenant_panel(tenant=tenant),
        ),
    ]
    return [
        {
            "key": key,
            "html": render_to_string(
                template, {**data, "panel": data, "tenant": tenant}, request=request
            ),
        }
        for key, template, data in panels
    ]


def _has_account(tenant: Tenant) -> bool:
    try:
        return tenant.account is not None
    except ObjectDoesNotExist:
        return False


def tenant_actions_for(*, tenant: Tenant, user) -> list[dict]:
    actions = []
    linked = _has_account(tenant)
    for name, label, style in TENANT_ACTIONS:
        # Archive is for tenants that never linked an account; offboarding is for those that did.
        if name == "tenant-archive" and (linked or tenant.is_archived):
            continue
        if name == "tenant-unarchive" and not tenant.is_archived:
            continue
        if name == "tenant-offboard" and (not linked or tenant.status == Tenant.Status.OFFBOARDED):
            continue
        # A link opens a form page: offer it, like a button, only to those who may submit it.
        url = _allowed_link(name, user, {"tenant_id": tenant.pk})
        if not url:
            continue
        actions.append(
            {
                "name": name,
                "label": label,
                "url": url,
                "is_post": style == "post",
                "danger": name in ("tenant-archive", "tenant-offboard"),
            }
        )
    return actions


# Links at the top of the tenant list, owned by the tenants area.
LIST_LINKS = [
    ("tenant-create", "Register a tenant"),
    ("tenant-import", "Import CSV"),
    ("tenant-export", "Export CSV"),
]
# Sortable columns: (label, ascending sort key).
SORTABLE = {
    "name": "Name",
    "status": "Status",
    "last_sync": "Last sync",
    "token_expiry": "Consent lapses",
}


def _allowed_link(name: str, user, kwargs: dict | None = None) -> str:
    """The URL of `name` if the user may use what it leads to, else ""."""
    url = reverse(name, kwargs=kwargs)
    view_class = getattr(resolve(url).func, "view_class", None)
    needed = getattr(view_class, "action_permission", None) or getattr(
        view_class, "permission", Perm.MANAGE_TENANTS
    )
    return url if user.can(needed) else ""


def _sort_columns(*, sort: str, base_query: str) -> dict:
    """Each sortable column's link (toggling direction) and its aria-sort value."""
    columns = {}
    for key, label in SORTABLE.items():
        active = sort.lstrip("-") == key
        descending = sort.startswith("-")
        next_sort = f"-{key}" if active and not descending else key
        prefix = f"{base_query}&" if base_query else ""
        columns[key] = {
            "label": label,
            "url": f"?{prefix}sort={next_sort}",
            "aria_sort": ("descending" if descending else "ascending") if active else "none",
            "arrow": ("▼" if descending else "▲") if active else "",
        }
    return columns


class TenantListView(StaffRequiredMixin, TemplateView):
    template_name = "portal/tenant_list.html"

    def get_context_data(self, **kwargs):
        form = TenantFilterForm(self.request.GET or None)
        form.is_valid()
        filters = form.filters()
        page = Paginator(tenant_fleet_list(**filters), PAGE_SIZE).get_page(
            self.request.GET.get("page")
        )
        query = self.request.GET.copy()
        query.pop("page", None)
        sort_query = query.copy()
        sort_query.pop("sort", None)
        may_operate = self.request.user.can(Perm.OPERATE)
        return super().get_context_data(
            form=form,
            page=page,
            rows=[tenant_fleet_row(tenant=tenant) for tenant in page.object_list],
            total=page.paginator.count,
            query=query.urlencode(),
            sort_query=sort_query.urlencode(),
            sort=filters["sort"],
            sort_choices=SORT_CHOICES,
            columns=_sort_columns(sort=filters["sort"], base_query=sort_query.urlencode()),
            list_links=[
                {"label": label, "url": url}
                for name, label in LIST_LINKS
                if (url := _allowed_link(name, self.request.user))
            ],
            filter_values={key: self.request.GET.get(key, "") for key in FILTER_FIELDS},
            bulk_kinds=bulk_kind_choices() if may_operate else [],
            is_filtered=any(self.request.GET.get(key) for key in FILTER_FIELDS if key != "sort"),
            **kwargs,
        )


class BulkStartView(StaffRequiredMixin, View):
    """Start a bulk operation on the ticked tenants or on every tenant matching the filter."""

    action_permission = Perm.OPERATE
    http_method_names = ["post"]

    def post(self, request):
        form = BulkStartForm(request.POST)
        back = reverse("tenant-list")
        filter_query = request.POST.get("filter_query", "")
        if filter_query:
            back = f"{back}?{filter_query}"
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return redirect(back)
        data = form.cleaned_data
        if data["all_matching"]:
            targets = tenant_fleet_ids(**form.filters())
        else:
            targets = tenant_ids_named(tenant_ids=data["tenant_ids"])
        if not targets:
            messages.error(request, "No tenant matches; nothing was started.")
            return redirect(back)
        operation = bulk_operation_start(
            kind=data["kind"], tenants=targets, actor=request.user, request=request
        )
        messages.success(
            request,
            f"{operation.get_kind_display()} started for {operation.total} "
            f"tenant{pluralize(operation.total)}.",
        )
        return redirect("bulk-detail", operation_id=operation.pk)


OUTCOME_BADGES = {"pending": "info", "succeeded": "ok", "failed": "bad", "skipped": "idle"}
# How long a finished republish's page keeps polling for the events still on their way.
REPUBLISH_POLL_FOR = timedelta(minutes=10)


class BulkOperationMixin(StaffRequiredMixin):
    @cached_property
    def operation(self) -> BulkOperation:
        try:
            return bulk_operation_get(operation_id=self.kwargs["operation_id"])
        except BulkOperation.DoesNotExist:
            raise Http404("No such bulk operation.") from None

    def progress_context(self) -> dict:
        operation = self.operation
        outcome = self.request.GET.get("outcome", "")
        items = bulk_operation_items(operation_id=operation.pk)
        if outcome in BulkOperationItem.Outcome.values:
            items = items.filter(outcome=outcome)
        page = Paginator(items, PAGE_SIZE).get_page(self.request.GET.get("page"))
        query = self.request.GET.copy()
        query.pop("page", None)
        republish = None
        if operation.kind == BulkOperation.Kind.CONNECT_REPUBLISH:
            republish = republish_progress(operation_id=operation.pk)
        # A republish is done when its events are back, not when DocuSign took the requests.
        waiting = bool(republish and republish["waiting"]) and (
            operation.finished_at is None
            or timezone.now() - operation.finished_at < REPUBLISH_POLL_FOR
        )
        return {
            "operation": operation,
            "republish": republish,
            "finished": operation.finished_at is not None and not waiting,
            "pending": operation.total - operation.done,
            "items": [
                {"item": item, "badge": OUTCOME_BADGES.get(item.outcome, "idle")}
                for item in page.object_list
            ],
            "page": page,
            "query": query.urlencode(),
            "outcome": outcome,
            "outcome_choices": BulkOperationItem.Outcome.choices,
            "progress_url": f"{reverse('bulk-progress', kwargs={'operation_id': operation.pk})}"
            f"?{self.request.GET.urlencode()}",
        }


class BulkDetailView(BulkOperationMixin, TemplateView):
    template_name = "portal/bulk_detail.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(**self.progress_context(), **kwargs)


class BulkProgressView(BulkOperationMixin, TemplateView):
    """The live part of the bulk page; htmx polls it every second until the operation ends."""

    template_name = "portal/_bulk_progress.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(**self.progress_context(), **kwargs)


class TenantDetailView(TenantMixin, TemplateView):
    template_name = "portal/tenant_detail.html"

    def get_context_data(self, **kwargs):
        tenant = self.tenant
        return super().get_context_data(
            tenant=tenant,
            row=tenant_fleet_row(tenant=tenant),
            panels=tenant_panels_render(tenant=tenant, request=self.request),
            actions=tenant_actions_for(tenant=tenant, user=self.request.user),
            history=tenant_status_changes(tenant=tenant, limit=20),
            audit_events=list(
                audit_event_list(target_type="tenant", target_id=str(tenant.pk))[:20]
            ),
            **kwargs,
        )
