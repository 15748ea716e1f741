from datetime import datetime, time, timedelta

from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from common.csvexport import csv_rows
from common.selectors import audit_action_choices, audit_event_list
from portal.forms.audit import AuditFilterForm
from portal.views.mixins import StaffRequiredMixin

CSV_EXPORT_LIMIT = 100_000


def _filtered_events(request):
    form = AuditFilterForm(request.GET or None)
    filters = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {
            key: data[key] for key in ("actor", "action", "outcome", "target_type", "target_id")
        }
        if data["since"]:
            filters["since"] = timezone.make_aware(datetime.combine(data["since"], time.min))
        if data["until"]:
            filters["until"] = timezone.make_aware(
                datetime.combine(data["until"] + timedelta(days=1), time.min)
            )
    return form, audit_event_list(**filters)


class AuditListView(StaffRequiredMixin, TemplateView):
    template_name = "portal/audit_list.html"

    def get_context_data(self, **kwargs):
        form, events = _filtered_events(self.request)
        page = Paginator(events.select_related(None), 50).get_page(self.request.GET.get("page"))
        query = self.request.GET.copy()
        query.pop("page", None)
        return super().get_context_data(
            form=form, page=page, actions=audit_action_choices(), query=query.urlencode(), **kwargs
        )


class AuditExportView(StaffRequiredMixin, View):
    def get(self, request):
        _, events = _filtered_events(request)
        rows = (
            (
                e.occurred_at.isoformat(),
                e.actor_label,
                e.action,
                e.target_type,
                e.target_id,
                e.target_label,
                e.outcome,
                e.message,
                e.request_id,
            )
            for e in events[:CSV_EXPORT_LIMIT].iterator(chunk_size=2000)
        )
        header = [
            "occurred_at",
            "actor",
            "action",
            "target_type",
            "target_id",
            "target",
            "outcome",
            "message",
            "request_id",
        ]
        response = StreamingHttpResponse(csv_rows(header, rows), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
        return response
