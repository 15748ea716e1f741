"""Prepare the one-command demo: a demo owner login and an integration wired to the local emulator.

Reads the emulator's demo seed (a JSON data file) for the integration key, its secret, the partner
account and its Connect HMAC key; generates an RSA key pair for JWT once; stores the same HMAC key
on the portal's side (so the emulator's signed test events are accepted); and writes a copy of the
seed that also registers the public key, for the emulator to load at start. Safe to run on every
start.
"""

import json
import secrets
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User
from accounts.roles import Role
from events.models import PartnerHmacKey
from tenants.models import Integration
from tenants.services.integrations import rsa_keypair_generate

DEMO_SEED = Path(settings.BASE_DIR) / "docusign_emulator" / "seed_demo.json"
DEMO_OWNER = "demo-owner"
DEMO_HMAC_LABEL = "Demo emulator key (from the seed)"


class Command(BaseCommand):
    help = "Creates the demo owner and the emulator integration, and prints how to sign in."

    def add_arguments(self, parser):
        parser.add_argument("--emulator-seed-out", default="var/emulator-seed.json")

    @transaction.atomic
    def handle(self, *args, emulator_seed_out: str, **options):
        seed = json.loads(DEMO_SEED.read_text())
        key = seed["integration_keys"][0]
        partner = next(a for a in seed["accounts"] if a["account_id"] == key["account_id"])
        partner_admin = next(
            u
            for u in seed["users"]
            if any(m["account_id"] == partner["account_id"] for m in u["memberships"])
        )

        password = secrets.token_urlsafe(12)
        owner, _ = User.objects.get_or_create(
            username=DEMO_OWNER, defaults={"email": "owner@partner.example", "role": Role.OWNER}
        )
        owner.role = Role.OWNER
        owner.is_staff = owner.is_superuser = True
        owner.set_password(password)
        owner.save()

        integration, _ = Integration.objects.get_or_create(
            name="Local emulator",
            defaults={"environment": Integration.Environment.EMULATOR},
        )
        integration.environment = Integration.Environment.EMULATOR
        integration.auth_base_url = settings.DOCUSIGN_EMULATOR_URL
        integration.integration_key = key["client_id"]
        integration.secret_key = key["secret"]
        integration.redirect_uri = f"{settings.PORTAL_PUBLIC_URL}/consent/callback/"
        integration.partner_account_id = partner["account_id"]
        integration.partner_user_id = partner_admin["user_id"]
        if not integration.rsa_private_key:
            pair = rsa_keypair_generate()
            integration.rsa_private_key = pair.private_pem
            integration.rsa_public_key = pair.public_pem
        integration.save()

        self._hmac_keys_match(integration, partner)

        key.setdefault("public_keys", [])
        if integration.rsa_public_key not in key["public_keys"]:
            key["public_keys"].append(integration.rsa_public_key)
        if integration.redirect_uri not in key["redirect_uris"]:
            key["redirect_uris"].append(integration.redirect_uri)
        out = Path(emulator_seed_out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(seed, indent=2))

        self.stdout.write(self.style.SUCCESS("\nDocuSign Partner Portal demo is ready."))
        self.stdout.write(f"  Portal:   {settings.PORTAL_PUBLIC_URL}/")
        self.stdout.write(
            f"  Sign in:  {DEMO_OWNER} / {password}   (owner; a new password each start)"
        )
        self.stdout.write(
            "            first sign-in: set up a second factor (an authenticator app or a passkey)"
        )
        self.stdout.write(f"  Emulator: {settings.DOCUSIGN_EMULATOR_URL}  (DocuSign stand-in)")
        self.stdout.write("  Client admins who can consent at the emulator:")
        for user in seed["users"]:
            if user.get("password"):
                self.stdout.write(f"    {user['email']} / {user['password']}")
        self.stdout.write("")

    def _hmac_keys_match(self, integration: Integration, partner: dict) -> None:
        """The emulator signs every Connect message with the partner account's keys; the portal
        refuses a message that no stored key verifies, so the demo stores the same keys."""
        stored = {
            k.secret
            for k in PartnerHmacKey.objects.filter(integration=integration, deactivated_at=None)
        }
        for secret in partner.get("hmac_keys", []):
            if secret not in stored:
                PartnerHmacKey.objects.create(
                    integration=integration,
                    label=DEMO_HMAC_LABEL,
                    secret=secret,
                    created_by_label="demo_setup",
                )
