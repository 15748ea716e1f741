import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

django_application = get_wsgi_application()

# Connect deliveries take a shorter way through the same Django code (portal/views/connect_hook.py).
from portal.views.connect_hook import ConnectHookLane  # noqa: E402  (needs Django set up)

application = ConnectHookLane(django_application)
