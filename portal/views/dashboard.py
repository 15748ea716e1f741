from django.views.generic import TemplateView

from common.selectors import worker_heartbeat_latest
from portal.views.mixins import StaffRequiredMixin


class DashboardView(StaffRequiredMixin, TemplateView):
    template_name = "portal/dashboard.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(heartbeat=worker_heartbeat_latest(), **kwargs)
