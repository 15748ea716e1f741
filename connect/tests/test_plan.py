"""The pure reconcile planner: every drift case decided without I/O."""

from dataclasses import replace

from connect.plan import DesiredConfig, calls_needed, plan_reconcile
from connect.services.templates import RenderContext, config_name, connect_config_render
from connect.tests.factories import sim_settings

CONTEXT = RenderContext(
    tenant_id=7, tenant_slug="acme", account_id="acct-1", allow_local_urls=False
)


def desired(slug="hooks", policy="repair", **settings):
    config = connect_config_render(
        slug=slug, settings=sim_settings(**settings), overrides={}, context=CONTEXT
    )
    return DesiredConfig(
        template_id=1,
        slug=slug,
        template_name=slug,
        version=3,
        policy=policy,
        name=config_name(slug),
        config=config,
    )


def actual_of(want: DesiredConfig, connect_id: str, **changes):
    return replace(want.config, connect_id=connect_id, **changes)


def actions(steps):
    return [(s.action, s.connect_id, s.report_only) for s in steps]


def test_render_fills_placeholders_and_is_always_integrator_managed():
    config = desired().config
    assert config.url_to_publish_to == "https://hooks.partner.example/ds/acme"
    assert config.integrator_managed is True
    assert config.to_wire()["integratorManaged"] == "true"
    assert config.event_data.version == "restv2.1"


def test_missing_configuration_is_created():
    assert actions(plan_reconcile([desired()], [])) == [("create", None, False)]


def test_identical_configuration_is_kept_and_needs_no_call():
    want = desired()
    steps = plan_reconcile([want], [actual_of(want, "10")])
    assert actions(steps) == [("keep", "10", False)]
    assert calls_needed(steps) == 0


def test_edited_configuration_is_updated_with_a_readable_field_diff():
    want = desired()
    steps = plan_reconcile(
        [want], [actual_of(want, "10", url_to_publish_to="https://evil.example/")]
    )
    assert actions(steps) == [("update", "10", False)]
    assert steps[0].config.connect_id == "10"
    assert steps[0].fields == [
        {
            "field": "url_to_publish_to",
            "desired": "https://hooks.partner.example/ds/acme",
            "actual": "https://evil.example/",
        }
    ]


def test_paused_configuration_is_updated_and_disabled_one_is_replaced():
    want = desired()
    paused = plan_reconcile([want], [actual_of(want, "10", pause_publish=True)])
    assert actions(paused) == [("update", "10", False)]
    disabled = plan_reconcile([want], [actual_of(want, "10", disabled_by="docusign")])
    assert actions(disabled) == [("reenable", "10", False)]
    assert calls_needed(disabled) == 2


def test_duplicates_keep_the_lowest_enabled_connect_id():
    want = desired()
    steps = plan_reconcile(
        [want],
        [actual_of(want, "12"), actual_of(want, "9", disabled_by="x"), actual_of(want, "10")],
    )
    assert actions(steps) == [
        ("delete_duplicate", "12", False),
        ("delete_duplicate", "9", False),
        ("keep", "10", False),
    ]


def test_report_policy_marks_every_step_report_only_unless_pushed():
    want = desired(policy="report")
    drifted = [actual_of(want, "10", events=("envelope-sent",)), actual_of(want, "11")]
    steps = plan_reconcile([want], drifted)
    assert all(s.report_only for s in steps)
    assert calls_needed(steps) == 0
    pushed = plan_reconcile([want], drifted, force_repair=True)
    assert not any(s.report_only for s in pushed)
    assert calls_needed(pushed) == 2


def test_portal_configurations_no_template_wants_are_deleted_others_untouched():
    want = desired()
    orphan = replace(want.config, name=config_name("retired"), connect_id="20")
    foreign = replace(want.config, name="Client's own webhook", connect_id="21")
    steps = plan_reconcile([want], [actual_of(want, "10"), orphan, foreign])
    assert actions(steps) == [("keep", "10", False), ("delete_orphan", "20", False)]
