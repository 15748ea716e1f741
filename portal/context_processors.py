"""The main navigation, built once per request."""

from django.urls import reverse

# (label, URL name, URL names that count as "this section" for aria-current)
NAV = [
    ("Dashboard", "dashboard", ("dashboard",)),
    ("Tenants", "tenant-list", ("tenant-", "bulk-")),
    ("Integrations", "integration-list", ("integration-",)),
    ("Connect templates", "connect-template-list", ("connect-template-",)),
    ("Partner OAuth", "connect-partner-oauth", ("connect-partner-oauth",)),
    ("Events", "event-list", ("event-",)),
    ("Delivery failures", "delivery-failures", ("delivery-failures",)),
    ("Audit log", "audit-list", ("audit-",)),
    ("Staff", "staff-list", ("staff-",)),
    ("API keys", "api-key-list", ("api-key-",)),
]


def _current(url_name: str, prefixes: tuple[str, ...]) -> bool:
    return any(url_name == p or (p.endswith("-") and url_name.startswith(p)) for p in prefixes)


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_links": []}
    match = getattr(request, "resolver_match", None)
    url_name = (match.url_name if match else "") or ""
    links = [
        {"label": label, "url": reverse(name), "current": _current(url_name, prefixes)}
        for label, name, prefixes in NAV
    ]
    return {"nav_links": links}
