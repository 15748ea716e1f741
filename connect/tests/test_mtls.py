"""A template may require mutual TLS only when the configured client CA can back it: the file
exists, is readable and holds a PEM CA certificate still valid; otherwise a field error says what
to do and nothing is saved."""

import datetime as dt

import pytest
from django.urls import reverse

from connect.models import ConnectTemplate
from connect.mtls import mtls_client_ca_problem
from connect.tests.test_views import template_post
from docusign_emulator.tls import client_certificate, ensure_certificates
from testing.certs import self_signed_write


def _expired_ca(path) -> str:
    now = dt.datetime.now(dt.UTC)
    cert_path, _ = self_signed_write(
        path.parent,
        common_name="Old CA",
        not_before=now - dt.timedelta(days=30),
        not_after=now - dt.timedelta(days=1),
        ca=True,
    )
    return str(cert_path)


@pytest.fixture
def tls_dir(tmp_path) -> str:
    ensure_certificates(str(tmp_path / "tls"))
    return str(tmp_path / "tls")


def test_the_emulators_ca_backs_mutual_tls(tls_dir):
    assert mtls_client_ca_problem(f"{tls_dir}/ca.pem") is None


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda tmp, tls: "", "no client certificate authority is configured"),
        (lambda tmp, tls: str(tmp / "missing.pem"), "does not exist"),
        (lambda tmp, tls: str(tmp), "cannot read"),
        (lambda tmp, tls: _write(tmp / "ca.der", b"\x30\x82\x01\x0a"), "holds no PEM certificate"),
        (lambda tmp, tls: client_certificate(tls)[0], "holds no CA certificate"),
        (lambda tmp, tls: _expired_ca(tmp / "old.pem"), "has expired"),
    ],
    ids=["unset", "missing", "a-directory", "not-pem", "client-cert-not-ca", "expired"],
)
def test_a_client_ca_that_cannot_verify_docusign_says_what_to_do(tmp_path, tls_dir, make, words):
    problem = mtls_client_ca_problem(make(tmp_path, tls_dir))

    assert problem is not None
    assert words in problem
    assert "Set CONNECT_MTLS_CLIENT_CA to the PEM file of the CA" in problem


def _write(path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


@pytest.mark.django_db
def test_the_form_refuses_mutual_tls_with_a_client_certificate_as_ca_and_saves_nothing(
    staff_client, emulator_integration, settings, tls_dir
):
    settings.CONNECT_MTLS_CLIENT_CA = client_certificate(tls_dir)[0]
    data = template_post(integration=emulator_integration.pk, require_mutual_tls="on")

    response = staff_client().post(reverse("connect-template-create"), data)

    assert response.status_code == 200
    [error] = response.context["form"].errors["require_mutual_tls"]
    assert "holds no CA certificate" in error
    assert "CONNECT_MTLS_CLIENT_CA" in error
    assert not ConnectTemplate.objects.exists()

    settings.CONNECT_MTLS_CLIENT_CA = f"{tls_dir}/ca.pem"
    assert staff_client().post(reverse("connect-template-create"), data).status_code == 302
    assert ConnectTemplate.objects.get().versions.get().settings["require_mutual_tls"] is True
