"""The pure half of a reconcile: desired and actual configurations in, a list of steps out.

No I/O here, so every drift case is a plain function call in the tests and the sync service only
executes what this decides.
"""

from dataclasses import dataclass, field, replace
from typing import Any

from connect.services.templates import CONFIG_NAME_PREFIX
from docusign_api import ConnectConfiguration


@dataclass(frozen=True)
class DesiredConfig:
    template_id: int
    slug: str
    template_name: str
    version: int
    policy: str  # ConnectTemplate.Policy
    name: str
    config: ConnectConfiguration | None  # None when the template cannot render for this tenant
    error: str = ""
    # The template version the tenant's account carries (None: unknown); only read for templates
    # with a write-only secret, which drift cannot see.
    carried_version: int | None = None


@dataclass(frozen=True)
class Step:
    """One thing to do (or, under "report only", to report) on the account.

    action: "create", "update", "reenable" (recreate a configuration DocuSign disabled),
    "delete_duplicate", "delete_orphan", "render_error"; `report_only` steps are never executed.
    """

    action: str
    slug: str
    name: str
    connect_id: str | None = None
    config: ConnectConfiguration | None = None
    fields: list[dict[str, Any]] = field(default_factory=list)
    report_only: bool = False
    error: str = ""


def readable_diff(desired: ConnectConfiguration, actual: ConnectConfiguration) -> list[dict]:
    """Field-level differences of the managed fields, as text staff can read."""
    return [
        {"field": name, "desired": _text(want), "actual": _text(have)}
        for name, (want, have) in sorted(desired.drift(actual).items())
    ]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "(none)"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_text(v)}" for k, v in value.items())
    return str(value) if value not in (None, "") else "(empty)"


def _connect_id_order(config: ConnectConfiguration) -> tuple[int, str]:
    cid = config.connect_id or ""
    return (int(cid), cid) if cid.isdigit() else (2**63, cid)


def plan_reconcile(
    desired: list[DesiredConfig], actual: list[ConnectConfiguration], *, force_repair: bool = False
) -> list[Step]:
    """Steps that make `actual` match `desired`.

    The portal's configurations are found by their stable name. Among several with the same name
    the keeper is an enabled one with the lowest connectId, so a crash between creating a
    replacement and deleting the disabled original converges on the next run. Configurations with
    the portal's prefix that no template wants any more are deleted.
    """
    steps: list[Step] = []
    wanted_names = {d.name for d in desired}
    for want in desired:
        report = want.policy == "report" and not force_repair
        if want.config is None:
            steps.append(Step("render_error", want.slug, want.name, error=want.error))
            continue
        same_name = sorted(
            (a for a in actual if a.name == want.name),
            key=lambda a: (bool(a.disabled_by), _connect_id_order(a)),
        )
        if not same_name:
            steps.append(
                Step("create", want.slug, want.name, config=want.config, report_only=report)
            )
            continue
        keeper, duplicates = same_name[0], same_name[1:]
        for duplicate in duplicates:
            steps.append(
                Step(
                    "delete_duplicate",
                    want.slug,
                    want.name,
                    connect_id=duplicate.connect_id,
                    report_only=report,
                )
            )
        fields = readable_diff(want.config, keeper)
        if want.config.password and want.carried_version != want.version and not fields:
            # DocuSign never returns the password (API.md 2.1), so a rotation is not drift it
            # can show: the new version is pushed whole.
            fields.append(
                {"field": "password", "desired": "(changed, write-only)", "actual": "(not shown)"}
            )
        if keeper.disabled_by:
            # A PUT does not clear disabledBy (read-only; API.md 2.1), so a configuration DocuSign
            # disabled is replaced: create the new one, then delete the old.
            fields.append(
                {"field": "disabled_by", "desired": "(empty)", "actual": keeper.disabled_by}
            )
            steps.append(
                Step(
                    "reenable",
                    want.slug,
                    want.name,
                    connect_id=keeper.connect_id,
                    config=want.config,
                    fields=fields,
                    report_only=report,
                )
            )
        elif fields:
            update = _with_connect_id(want.config, keeper)
            steps.append(
                Step(
                    "update",
                    want.slug,
                    want.name,
                    connect_id=keeper.connect_id,
                    config=update,
                    fields=fields,
                    report_only=report,
                )
            )
        else:
            steps.append(Step("keep", want.slug, want.name, connect_id=keeper.connect_id))
    for orphan in sorted(actual, key=_connect_id_order):
        if orphan.name.startswith(CONFIG_NAME_PREFIX) and orphan.name not in wanted_names:
            steps.append(Step("delete_orphan", "", orphan.name, connect_id=orphan.connect_id))
    return steps


def _with_connect_id(config: ConnectConfiguration, actual: ConnectConfiguration):
    # The full desired body with the id (PUT has no id in its path; API.md 2.1), keeping wire
    # fields the portal does not model so they are not dropped.
    return replace(config, connect_id=actual.connect_id, extra=dict(actual.extra))


WRITE_ACTIONS = {"create": 1, "update": 1, "reenable": 2, "delete_duplicate": 1, "delete_orphan": 1}


def calls_needed(steps: list[Step]) -> int:
    return sum(WRITE_ACTIONS.get(s.action, 0) for s in steps if not s.report_only)
