"""Start the test OpenID Connect provider: migrate its own SQLite file, create its users and the
portal's client, serve on 127.0.0.1:PORT until killed."""

import argparse
import os


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True, help="SQLite file for the provider's own data")
    parser.add_argument("--redirect-uri", action="append", required=True)
    args = parser.parse_args()
    os.environ["DJANGO_SETTINGS_MODULE"] = "testing.oidc_provider.settings"
    os.environ["OIDC_PROVIDER_DB"] = args.db

    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.core.servers.basehttp import run
    from django.core.wsgi import get_wsgi_application
    from oauth2_provider.models import Application

    from testing.oidc_provider import CLIENT_ID, CLIENT_SECRET, USERS

    call_command("migrate", verbosity=0, interactive=False)
    for username, (password, email, groups) in USERS.items():
        user = User.objects.create_user(username=username, email=email, password=password)
        user.groups.set([Group.objects.get_or_create(name=g)[0] for g in groups])
    Application.objects.create(
        name="DocuSign Partner Portal (tests)",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=" ".join(args.redirect_uri),
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True,
    )
    run("127.0.0.1", args.port, get_wsgi_application(), threading=True)


if __name__ == "__main__":
    main()
