"""A tenant's envelope-level `eventNotification`, rendered from the same desired configuration the
sync pushes at account level, for the partner's app to put in an envelope-create call.

The envelope-level object names the same settings differently (API.md 2.1, BAL
`EventNotification`): `url`, `loggingEnabled`, `requireAcknowledgment`, `signMessageWithX509Cert`.
It has no user name or password, so Basic credentials cannot travel with it: HMAC (integrator
managed, with the partner's keys) is what authenticates those deliveries.
"""

import json
from typing import Any

from docusign_api import ConnectConfiguration

# ConnectCustomConfiguration member -> eventNotification member, for the members both have.
ENVELOPE_NAMES = {
    "urlToPublishTo": "url",
    "deliveryMode": "deliveryMode",
    "events": "events",
    "eventData": "eventData",
    "requiresAcknowledgement": "requireAcknowledgment",
    "enableLog": "loggingEnabled",
    "includeHMAC": "includeHMAC",
    "includeOAuth": "includeOAuth",
    "integratorManaged": "integratorManaged",
    "includeDocuments": "includeDocuments",
    "includeEnvelopeVoidReason": "includeEnvelopeVoidReason",
    "includeTimeZoneInformation": "includeTimeZone",
}


def event_notification_from(config: ConnectConfiguration) -> dict[str, Any]:
    """The envelope-level block for a rendered account-level configuration."""
    wire = config.to_wire()
    block = {
        envelope: wire[account] for account, envelope in ENVELOPE_NAMES.items() if account in wire
    }
    if not block.get("events"):
        block.pop("events", None)
    if config.require_mutual_tls:
        # API.md 2.1: the legacy name is the one the envelope-level object carries.
        block["signMessageWithX509Cert"] = "true"
    return block


def event_notification_json(config: ConnectConfiguration) -> str:
    return json.dumps({"eventNotification": event_notification_from(config)}, indent=2)
