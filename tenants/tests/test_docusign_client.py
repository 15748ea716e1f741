"""The portal's shared DocuSign client: one per account server, and a session that reads the
environment only when there is a proxy to honour."""

from types import SimpleNamespace

import pytest
import requests

from tenants import docusign


@pytest.fixture
def fresh_clients(monkeypatch):
    monkeypatch.setattr(docusign, "_clients", {})
    for name in (
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
    ):
        monkeypatch.delenv(name, raising=False)


def integration(url: str):
    return SimpleNamespace(auth_base_url=url)


def test_one_client_per_account_server(fresh_clients):
    first = docusign.docusign_client_for(integration("http://127.0.0.1:8765"))
    assert docusign.docusign_client_for(integration("http://127.0.0.1:8765/")) is first
    assert docusign.docusign_client_for(integration("https://account-d.docusign.com")) is not first


def test_without_proxy_variables_a_netrc_entry_cannot_replace_the_bearer_header(
    fresh_clients, monkeypatch, tmp_path
):
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login someone password something\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    client = docusign.docusign_client_for(integration("http://127.0.0.1:8765"))
    session = client._http.session
    assert session.trust_env is False
    sent = session.prepare_request(
        requests.Request("GET", "http://127.0.0.1:8765/x", headers={"Authorization": "Bearer t"})
    )
    assert sent.headers["Authorization"] == "Bearer t"


def test_a_proxy_variable_is_honoured(fresh_clients, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    client = docusign.docusign_client_for(integration("https://account-d.docusign.com"))
    assert client._http.session.trust_env is True


def test_a_ca_bundle_variable_is_still_honoured(fresh_clients, monkeypatch, settings):
    settings.DOCUSIGN_CA_BUNDLE = None
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    client = docusign.docusign_client_for(integration("https://account-d.docusign.com"))
    assert client._http.verify == "/etc/ssl/certs/ca-certificates.crt"


def test_the_setting_wins_over_the_ca_bundle_variable(fresh_clients, monkeypatch, settings):
    settings.DOCUSIGN_CA_BUNDLE = "/srv/portal/docusign-ca.pem"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    client = docusign.docusign_client_for(integration("https://account-d.docusign.com"))
    assert client._http.verify == "/srv/portal/docusign-ca.pem"
