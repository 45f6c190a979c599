"""The four-eyes matrix (domain.md): which operations need a second person, who may be that
person, and the words an approver reads. Data, not code: the defaults follow domain.md, and the
PACKLINE_FOUR_EYES setting (a JSON object keyed by operation) overrides them per operation.
The setting is checked once, at start-up; a bad one stops the server with the reason.

Decisions (documented here because the setting can weaken the rules):
* Every operation below is one domain.md says needs a second person. Setting one to "never"
  is refused unless the same entry says `"waive_four_eyes": true`: switching four-eyes off is
  possible, but only on purpose and visibly (GET /api/v1/approvals/matrix shows `waived`).
* "above" (a threshold on a named payload field) is allowed for any operation: it still asks a
  second person for the cases that matter. A payload whose field is missing or not a number
  counts as above the threshold: missing data never lowers the bar.
* A bench override is enforced at the bench, offline, against the supervisors' badge digests;
  the server only records it. Its need and approvers cannot be configured (the bench could not
  know); only the words can.
* The default threshold of an inventory adjustment is PACKLINE_ADJUSTMENT_APPROVAL_THRESHOLD
  (units counted differently from the books); the JSON setting, when it names one, wins.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

INVENTORY_ADJUSTMENT = "inventory_adjustment"
BENCH_OVERRIDE = "bench_override"
VOID_AFTER_HANDOVER = "void_after_handover"
RESTOCK_HIGH_VALUE_RETURN = "restock_high_value_return"
REFUND_HIGH_VALUE_RETURN = "refund_high_value_return"
RATE_RULE_CHANGE = "rate_rule_change"
ROUTING_RULE_CHANGE = "routing_rule_change"
CUSTOMER_UNMERGE = "customer_unmerge"

ROLES = frozenset({"picker", "packer", "returns", "dispatch", "supervisor", "admin"})
SETTING = "PACKLINE_FOUR_EYES"
_KEYS = frozenset({"need", "field", "threshold", "approver_roles", "words", "waive_four_eyes"})
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\}")
MAX_WORDS = 300


class Need(StrEnum):
    ALWAYS = "always"
    ABOVE = "above"  # above a threshold on a named payload field
    NEVER = "never"


class FourEyesConfigError(ValueError):
    """The four-eyes setting cannot be used; the message names the entry and what to fix."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    operation: str
    need: Need
    approver_roles: frozenset[str]
    words: str  # a template: {field} or {field.sub} take values from the payload
    field: str | None = None
    threshold: Decimal | None = None
    waived: bool = False  # "never" chosen on purpose for an operation domain.md protects
    configurable: bool = True

    def needs_second_person(self, payload: Mapping[str, Any]) -> bool:
        if self.need is Need.ALWAYS:
            return True
        if self.need is Need.NEVER:
            return False
        assert self.field is not None and self.threshold is not None
        value = _number(payload.get(self.field))
        # Unreadable or missing counts as above: missing data never lowers the bar.
        return value is None or abs(value) > self.threshold

    def describe(self, payload: Mapping[str, Any]) -> str:
        return render(self.words, payload)


def _number(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def render(template: str, payload: Mapping[str, Any]) -> str:
    """Fill {name} / {name.sub} from the payload; a missing value shows as "?". Only mapping
    lookups: a template never reaches attributes of the values."""

    def value(match: re.Match[str]) -> str:
        current: object = payload
        for part in match.group(1).split("."):
            if not isinstance(current, Mapping) or part not in current:
                return "?"
            current = current[part]
        return "-" if current is None else str(current)

    return _PLACEHOLDER.sub(value, template)


SUPERVISORS = frozenset({"supervisor"})  # admins pass every role check (Actor.has)


def default_policies(*, adjustment_threshold: int) -> dict[str, Policy]:
    p = [
        Policy(
            operation=INVENTORY_ADJUSTMENT,
            need=Need.ABOVE,
            field="units",
            threshold=Decimal(adjustment_threshold),
            approver_roles=SUPERVISORS,
            words="Stock count of {sku} in {location}: the books say {expected_on_hand}, "
            "the shelf has {counted} ({units} units to adjust)",
        ),
        Policy(
            operation=BENCH_OVERRIDE,
            need=Need.ALWAYS,
            approver_roles=SUPERVISORS,
            words="Bench override on order {order_number}: {bypassed} skipped (line {line_no})",
            configurable=False,
        ),
        Policy(
            operation=VOID_AFTER_HANDOVER,
            need=Need.ALWAYS,
            approver_roles=SUPERVISORS,
            words="Void a label the carrier already took over",
        ),
        Policy(
            operation=RESTOCK_HIGH_VALUE_RETURN,
            need=Need.ALWAYS,  # the returns service decides what is high-value
            approver_roles=SUPERVISORS,
            words="Put a high-value return back on the shelf",
        ),
        # Not in domain.md's list, but the same money: a refund above the return approval
        # threshold is released by its own approval, whatever triage does with the unit.
        Policy(
            operation=REFUND_HIGH_VALUE_RETURN,
            need=Need.ALWAYS,  # the returns service decides what is high-value
            approver_roles=SUPERVISORS,
            words="Refund {amount} {currency} for a high-value return ({rma}, unit {unit_id})",
        ),
        Policy(
            operation=RATE_RULE_CHANGE,
            need=Need.ALWAYS,
            approver_roles=SUPERVISORS,
            words="Save rate rule '{definition.name}' (priority {definition.priority}, "
            "choose {definition.objective.kind})",
        ),
        Policy(
            operation=ROUTING_RULE_CHANGE,
            need=Need.ALWAYS,
            approver_roles=SUPERVISORS,
            words="New allocation rule '{name}': {strategy} for channel {channel_code}, "
            "priority {priority}",
        ),
        Policy(
            operation=CUSTOMER_UNMERGE,
            need=Need.ALWAYS,
            approver_roles=SUPERVISORS,
            words="Split a merged customer record",
        ),
    ]
    return {x.operation: x for x in p}


class FourEyesMatrix:
    def __init__(self, policies: Mapping[str, Policy]) -> None:
        self._policies = dict(policies)

    def __contains__(self, operation: object) -> bool:
        return operation in self._policies

    def __iter__(self) -> Iterator[Policy]:
        return iter(self._policies.values())

    def get(self, operation: str) -> Policy | None:
        return self._policies.get(operation)

    def policy(self, operation: str) -> Policy:
        found = self._policies.get(operation)
        if found is None:
            raise KeyError(operation)
        return found

    @property
    def operations(self) -> tuple[str, ...]:
        return tuple(self._policies)


def default_matrix(*, adjustment_threshold: int = 20) -> FourEyesMatrix:
    return FourEyesMatrix(default_policies(adjustment_threshold=adjustment_threshold))


def matrix_from_setting(text: str, *, adjustment_threshold: int) -> FourEyesMatrix:
    """The defaults with the setting's overrides applied; FourEyesConfigError says what is
    wrong, naming the setting and the operation."""
    policies = default_policies(adjustment_threshold=adjustment_threshold)
    if adjustment_threshold < 0:
        raise FourEyesConfigError(
            "PACKLINE_ADJUSTMENT_APPROVAL_THRESHOLD cannot be negative "
            f"(got {adjustment_threshold})"
        )
    if not text.strip():
        return FourEyesMatrix(policies)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise FourEyesConfigError(f"{SETTING} is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise FourEyesConfigError(
            f'{SETTING} must be a JSON object keyed by operation, e.g. {{"{RATE_RULE_CHANGE}": '
            '{"approver_roles": ["admin"]}}'
        )
    for operation, entry in data.items():
        if operation not in policies:
            raise FourEyesConfigError(
                f"{SETTING}: unknown operation {operation!r}; the matrix has "
                + ", ".join(sorted(policies))
            )
        policies[operation] = _apply(policies[operation], entry)
    return FourEyesMatrix(policies)


def _apply(base: Policy, entry: object) -> Policy:
    op = base.operation
    where = f"{SETTING}: {op}"
    if not isinstance(entry, dict):
        raise FourEyesConfigError(f"{where}: must be an object of settings")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise FourEyesConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_KEYS))}"
        )
    if not base.configurable and set(entry) - {"words"}:
        raise FourEyesConfigError(
            f"{where}: a bench override always needs a supervisor's badge, checked at the "
            "bench even offline; only its words can be configured"
        )
    policy = base
    if "words" in entry:
        words = entry["words"]
        if not isinstance(words, str) or not words.strip() or len(words) > MAX_WORDS:
            raise FourEyesConfigError(f"{where}: words must be text of 1 to {MAX_WORDS} chars")
        policy = replace(policy, words=words.strip())
    if "approver_roles" in entry:
        roles = entry["approver_roles"]
        if (
            not isinstance(roles, list)
            or not roles
            or not all(isinstance(r, str) and r in ROLES for r in roles)
        ):
            raise FourEyesConfigError(
                f"{where}: approver_roles must be a non-empty list of roles from "
                + ", ".join(sorted(ROLES))
            )
        policy = replace(policy, approver_roles=frozenset(roles))
    return _need(policy, entry, where)


def _need(policy: Policy, entry: dict[str, Any], where: str) -> Policy:
    need = policy.need
    if "need" in entry:
        try:
            need = Need(entry["need"])
        except ValueError:
            raise FourEyesConfigError(
                f"{where}: need must be one of {', '.join(n.value for n in Need)}"
            ) from None
    waive = entry.get("waive_four_eyes", False)
    if not isinstance(waive, bool):
        raise FourEyesConfigError(f"{where}: waive_four_eyes must be true or false")
    if need is Need.NEVER and not waive:
        raise FourEyesConfigError(
            f"{where}: domain.md requires a second person for this operation; to switch "
            'four-eyes off anyway, say so in the same entry: "waive_four_eyes": true'
        )
    if waive and need is not Need.NEVER:
        raise FourEyesConfigError(f"{where}: waive_four_eyes only goes with need 'never'")
    if need is not Need.ABOVE:
        if "field" in entry or "threshold" in entry:
            raise FourEyesConfigError(f"{where}: field and threshold only apply to need 'above'")
        return replace(policy, need=need, field=None, threshold=None, waived=waive)
    field = entry.get("field", policy.field)
    if not isinstance(field, str) or not field.strip():
        raise FourEyesConfigError(f"{where}: need 'above' needs the payload field to compare")
    raw = entry.get("threshold", policy.threshold)
    threshold = _number(raw) if not isinstance(raw, str) else None  # a number, not text
    if raw is None or threshold is None or threshold < 0:
        raise FourEyesConfigError(f"{where}: need 'above' needs a threshold: a number >= 0")
    return replace(policy, need=need, field=field.strip(), threshold=threshold, waived=False)
