import pytest

from docusign_api import base_uri_host_allowed

ALLOWED = ["*.docusign.net", "demo.docusign.net", "http://127.0.0.1:8765"]


@pytest.mark.parametrize(
    "base_uri",
    [
        "https://demo.docusign.net",
        "https://na3.docusign.net",
        "https://eu.docusign.net/",
        "https://NA3.DocuSign.net:443",
        "http://127.0.0.1:8765/demo",
    ],
)
def test_allowed(base_uri):
    assert base_uri_host_allowed(base_uri, ALLOWED)


@pytest.mark.parametrize(
    "base_uri",
    [
        "http://na3.docusign.net",  # https required unless an http entry names the host
        "https://docusign.net",  # "*.x" means a subdomain, not x itself
        "https://evil-docusign.net",
        "https://docusign.net.evil.example",
        "https://na3.docusign.net:8443",
        "https://user@na3.docusign.net",
        "http://127.0.0.1:9999/demo",
        "https://127.0.0.1:8765/demo",
        "ftp://na3.docusign.net",
        "not a url",
        "",
    ],
)
def test_refused(base_uri):
    assert not base_uri_host_allowed(base_uri, ALLOWED)


def test_exact_host_entry_does_not_allow_subdomains():
    assert not base_uri_host_allowed("https://x.demo.docusign.net", ["demo.docusign.net"])
