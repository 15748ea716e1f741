"""Factories for Connect templates: a valid JSON SIM template by default."""

import factory

from connect.models import ConnectTemplate, ConnectTemplateVersion
from tenants.tests.factories import IntegrationFactory

LISTENER = "https://hooks.partner.example/ds/{tenant_slug}"


def sim_settings(**overrides) -> dict:
    settings = {
        "url_to_publish_to": LISTENER,
        "events": ["envelope-sent", "envelope-completed", "recipient-completed"],
        "include_data": ["recipients", "custom_fields"],
        "delivery_mode": "SIM",
        "requires_acknowledgement": True,
        "enable_log": True,
        "all_users": True,
        "allow_envelope_publish": True,
        "include_hmac": True,
        "include_oauth": False,
    }
    settings.update(overrides)
    return settings


class ConnectTemplateFactory(factory.django.DjangoModelFactory):
    """`ConnectTemplateFactory(integration=..., settings={...})`: the template and its version 1."""

    class Meta:
        model = ConnectTemplate
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Webhook {n}")
    slug = factory.Sequence(lambda n: f"webhook-{n}")
    integration = factory.SubFactory(IntegrationFactory)
    policy = ConnectTemplate.Policy.REPAIR
    applies_to = ConnectTemplate.AppliesTo.ALL
    current_version = 1

    @factory.post_generation
    def settings(obj, create, extracted, **kwargs):
        if create:
            ConnectTemplateVersion.objects.create(
                template=obj,
                number=obj.current_version,
                settings=sim_settings(**(extracted or {})),
                created_by_label="tests",
            )
