"""The main navigation, built once per request from the URL names that exist.

Areas are built by different people and may not be installed yet; a missing URL name simply leaves
its link out instead of breaking every page.
"""

from django.urls import NoReverseMatch, reverse

# (label, URL name, URL names that count as "this section" for aria-current)
NAV = [
    ("Dashboard", "dashboard", ("dashboard",)),
    ("Tenants", "tenant-list", ("tenant-", "bulk-")),
    ("Integrations", "integration-list", ("integration-",)),
    ("Connect templates", "connect-template-list", ("connect-template-",)),
    ("Partner OAuth", "connect-partner-oauth", ("connect-partner-oauth",)),
    ("Events", "event-list", ("event-",)),
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
    links = []
    for label, name, prefixes in NAV:
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        links.append({"label": label, "url": url, "current": _current(url_name, prefixes)})
    return {"nav_links": links}
