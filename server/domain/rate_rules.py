"""Rate-shopping rules: which of the fetched quotes to buy, and why (reference/carriers.md §3).

Pure: the quotes come in, a Decision with a plain-words explanation goes out. Rules are ordered by
priority then id; the first rule whose conditions match decides, and when its objective finds no
eligible quote the next matching rule (then the default) gets its turn. The explanation exists
because the commercial tools (ShipHero, ShipStation) pick silently and operators asked why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import TypeAlias

from server.carriers.base import Quote


@dataclass(frozen=True, slots=True)
class ShipmentFacts:
    channel: str  # marketplace / sales channel, e.g. "amazon-de"
    warehouse: str
    country: str  # ISO 3166-1 alpha-2 of the destination
    postcode: str
    weight_g: int
    dims_mm: tuple[int, int, int]
    order_value: Decimal
    currency: str  # of the order value, and the only currency rates are compared in

    @property
    def max_dimension_mm(self) -> int:
        return max(self.dims_mm)


@dataclass(frozen=True, slots=True)
class Cheapest:
    pass


@dataclass(frozen=True, slots=True)
class Fastest:
    pass


@dataclass(frozen=True, slots=True)
class CheapestWithinDays:
    days: int

    def __post_init__(self) -> None:
        if self.days < 0:
            raise ValueError(f"cheapest within N days needs N >= 0, got {self.days}")


@dataclass(frozen=True, slots=True)
class Named:
    carrier: str
    service: str = ""  # empty: any service of that carrier (the cheapest wins)

    def __post_init__(self) -> None:
        if not self.carrier.strip():
            raise ValueError("a named objective needs a carrier name")


Objective: TypeAlias = Cheapest | Fastest | CheapestWithinDays | Named


def _norm(values: frozenset[str] | Sequence[str]) -> frozenset[str]:
    return frozenset(v.strip().casefold() for v in values)


@dataclass(frozen=True, slots=True)
class RateRule:
    id: str
    name: str
    priority: int  # lower runs first
    objective: Objective
    # Conditions: an empty set / None means "any". All given conditions must hold (AND).
    channels: frozenset[str] = frozenset()
    warehouses: frozenset[str] = frozenset()
    countries: frozenset[str] = frozenset()
    postcode_prefixes: tuple[str, ...] = ()
    min_weight_g: int | None = None  # inclusive
    max_weight_g: int | None = None  # inclusive
    max_dimension_mm: int | None = None  # longest side, inclusive
    min_order_value: Decimal | None = None  # inclusive, in the shipment's currency
    max_order_value: Decimal | None = None
    # Filters on quotes (names compared case-insensitively).
    allowed_carriers: frozenset[str] = frozenset()  # empty: all
    blocked_carriers: frozenset[str] = frozenset()
    allowed_services: frozenset[str] = frozenset()
    blocked_services: frozenset[str] = frozenset()
    # Compare-only cost factors keyed by provider, carrier or "carrier/service"; every matching
    # key applies (ShipHero's "rating factor": 0.95 favours, 1.1 penalises).
    multipliers: Mapping[str, Decimal] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not self.id.strip():
            raise ValueError("a rule needs an id")
        if not self.name.strip():
            raise ValueError(f"rule {self.id!r} needs a name")
        for attr in ("channels", "warehouses", "allowed_carriers", "blocked_carriers",
                     "allowed_services", "blocked_services"):  # fmt: skip
            object.__setattr__(self, attr, _norm(getattr(self, attr)))
        countries = frozenset(c.strip().upper() for c in self.countries)
        if any(len(c) != 2 or not c.isalpha() for c in countries):
            raise ValueError(f"rule {self.name!r}: countries must be ISO alpha-2 codes")
        object.__setattr__(self, "countries", countries)
        prefixes = tuple(p.replace(" ", "").upper() for p in self.postcode_prefixes)
        if any(not p for p in prefixes):
            raise ValueError(f"rule {self.name!r}: empty postcode prefix")
        object.__setattr__(self, "postcode_prefixes", prefixes)
        _check_range(self.name, "weight", self.min_weight_g, self.max_weight_g)
        _check_range(self.name, "order value", self.min_order_value, self.max_order_value)
        if self.max_dimension_mm is not None and self.max_dimension_mm <= 0:
            raise ValueError(f"rule {self.name!r}: max dimension must be positive")
        for kind, allowed, blocked in (
            ("carrier", self.allowed_carriers, self.blocked_carriers),
            ("service", self.allowed_services, self.blocked_services),
        ):
            if both := allowed & blocked:
                raise ValueError(f"rule {self.name!r}: {kind} both allowed and blocked: {both}")
        factors: dict[str, Decimal] = {}
        for key, factor in self.multipliers.items():
            factor = Decimal(str(factor))  # floats from JSON: 1.1 must mean 1.1
            if not key.strip():
                raise ValueError(f"rule {self.name!r}: empty multiplier key")
            if not factor.is_finite() or factor <= 0:
                raise ValueError(f"rule {self.name!r}: multiplier for {key!r} must be > 0")
            factors[key.strip().casefold()] = factor
        object.__setattr__(self, "multipliers", MappingProxyType(factors))

    def multiplier_for(self, quote: Quote) -> Decimal:
        keys = {quote.provider.casefold(), quote.carrier.casefold(),
                f"{quote.carrier}/{quote.service}".casefold()}  # fmt: skip
        factor = Decimal(1)
        for key in sorted(keys):
            factor *= self.multipliers.get(key, Decimal(1))
        return factor


def _check_range(rule: str, what: str, lo: int | Decimal | None, hi: int | Decimal | None) -> None:
    if (lo is not None and lo < 0) or (hi is not None and hi < 0):
        raise ValueError(f"rule {rule!r}: {what} bounds must not be negative")
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"rule {rule!r}: {what} range is inverted ({lo} > {hi})")


@dataclass(frozen=True, slots=True)
class Considered:
    quote: Quote
    multiplier: Decimal
    effective_amount: Decimal  # amount * multiplier: what the objective compares
    eligible: bool
    reason: str  # why not eligible ("" when eligible)


@dataclass(frozen=True, slots=True)
class Decision:
    quote: Quote | None
    rule: RateRule | None  # None: the default decided (or nothing could be chosen)
    objective: Objective | None
    explanation: str
    considered: tuple[Considered, ...]  # as seen by the objective that decided (or tried last)
    trace: tuple[str, ...]  # one line per rule, in evaluation order, for the audit log


SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}


def money(amount: Decimal, currency: str) -> str:
    shown = amount.quantize(Decimal("0.01"))
    symbol = SYMBOLS.get(currency.upper())
    return f"{symbol}{shown}" if symbol else f"{shown} {currency.upper()}"


def _kg(grams: int) -> str:
    return f"{(Decimal(grams) / 1000).normalize():f} kg"


def _label(q: Quote) -> str:
    return f"{q.carrier} {q.service}".strip()


def _objective_words(objective: Objective) -> str:
    match objective:
        case Cheapest():
            return "Cheapest"
        case Fastest():
            return "Fastest"
        case CheapestWithinDays(days=days):
            return f"Cheapest within {days} day{'s' if days != 1 else ''}"
        case Named(carrier=carrier, service=service):
            return f"Named {carrier} {service}".strip()


def _mismatch(rule: RateRule, f: ShipmentFacts) -> str | None:
    """Why the rule does not apply, or None when every condition holds."""
    value = money(f.order_value, f.currency)
    checks = (
        (not rule.channels or f.channel.casefold() in rule.channels, f"channel {f.channel}"),
        (
            not rule.warehouses or f.warehouse.casefold() in rule.warehouses,
            f"warehouse {f.warehouse}",
        ),
        (not rule.countries or f.country.upper() in rule.countries, f"destination {f.country}"),
        (
            not rule.postcode_prefixes
            or f.postcode.replace(" ", "").upper().startswith(rule.postcode_prefixes),
            f"postcode {f.postcode}",
        ),
        (rule.min_weight_g is None or f.weight_g >= rule.min_weight_g, f"weight {_kg(f.weight_g)}"),
        (rule.max_weight_g is None or f.weight_g <= rule.max_weight_g, f"weight {_kg(f.weight_g)}"),
        (
            rule.max_dimension_mm is None or f.max_dimension_mm <= rule.max_dimension_mm,
            f"longest side {f.max_dimension_mm} mm",
        ),
        (
            rule.min_order_value is None or f.order_value >= rule.min_order_value,
            f"order value {value}",
        ),
        (
            rule.max_order_value is None or f.order_value <= rule.max_order_value,
            f"order value {value}",
        ),
    )
    failed = [words for ok, words in checks if not ok]
    return ", ".join(dict.fromkeys(failed)) + " outside the rule" if failed else None


def _matched_words(rule: RateRule, f: ShipmentFacts) -> str:
    parts = []
    if rule.channels:
        parts.append(f"channel {f.channel}")
    if rule.warehouses:
        parts.append(f"warehouse {f.warehouse}")
    if rule.countries or rule.postcode_prefixes:
        parts.append(f"destination {f.country} {f.postcode}".strip())
    if rule.min_weight_g is not None or rule.max_weight_g is not None:
        parts.append(_kg(f.weight_g))
    if rule.max_dimension_mm is not None:
        parts.append(f"longest side {f.max_dimension_mm} mm")
    if rule.min_order_value is not None or rule.max_order_value is not None:
        parts.append(f"order value {money(f.order_value, f.currency)}")
    return ", ".join(parts) if parts else "no conditions"


def _ineligible(rule: RateRule | None, objective: Objective, q: Quote, currency: str) -> str:
    if q.currency.upper() != currency.upper():
        return f"priced in {q.currency}, not {currency}"
    carrier, service = q.carrier.casefold(), q.service.casefold()
    if rule is not None:
        if rule.allowed_carriers and carrier not in rule.allowed_carriers:
            return "carrier not allowed by the rule"
        if carrier in rule.blocked_carriers:
            return "carrier blocked by the rule"
        if rule.allowed_services and service not in rule.allowed_services:
            return "service not allowed by the rule"
        if service in rule.blocked_services:
            return "service blocked by the rule"
    match objective:
        case Fastest() if q.delivery_days is None:
            return "no delivery estimate"
        case CheapestWithinDays(days=days) if q.delivery_days is None:
            return f"not within {days} days: no delivery estimate"
        case CheapestWithinDays(days=days) if (
            q.delivery_days is not None and q.delivery_days > days
        ):
            return f"not within {days} days: {q.delivery_days} days"
        case Named(carrier=name, service=svc) if carrier != name.strip().casefold() or (
            svc.strip() and service != svc.strip().casefold()
        ):
            return f"not {name} {svc}".rstrip()
    return ""


_NO_DAYS = 1 << 30  # unknown delivery sorts after every real estimate


def _key(objective: Objective, c: Considered) -> tuple[object, ...]:
    q = c.quote
    days = _NO_DAYS if q.delivery_days is None else q.delivery_days
    names = (
        q.provider,
        q.carrier,
        q.service,
        q.account,
        q.rate_id,
        q.amount,
        q.currency,
        q.shipment_ref,
        q.delivery_days if q.delivery_days is not None else -1,
        c.reason,
    )
    if isinstance(objective, Fastest):
        return (days, c.effective_amount, *names)
    return (c.effective_amount, days, *names)


def _figure(c: Considered) -> str:
    q = c.quote
    if c.multiplier == 1:
        return f"{_label(q)} {money(q.amount, q.currency)}"
    return (f"{_label(q)} {money(q.amount, q.currency)} {TIMES}{c.multiplier.normalize():f} "
            f"= {money(c.effective_amount, q.currency)}")  # fmt: skip


MAX_LOSERS_SHOWN = 5
TIMES = "\u00d7"  # the multiplication sign, as operators read it on the quote log


def _choose(
    rule: RateRule | None, objective: Objective, quotes: Sequence[Quote], currency: str
) -> tuple[Considered | None, tuple[Considered, ...], str]:
    considered = []
    for q in quotes:
        factor = rule.multiplier_for(q) if rule is not None else Decimal(1)
        reason = _ineligible(rule, objective, q, currency)
        considered.append(Considered(q, factor, q.amount * factor, not reason, reason))
    ordered = sorted(considered, key=lambda c: (not c.eligible, _key(objective, c)))
    winner = ordered[0] if ordered and ordered[0].eligible else None
    losers = [c for c in ordered if c is not winner]
    words = [_figure(c) if c.eligible else f"{_label(c.quote)} {c.reason}" for c in losers]
    if len(words) > MAX_LOSERS_SHOWN:
        words = [*words[:MAX_LOSERS_SHOWN], f"{len(words) - MAX_LOSERS_SHOWN} more"]
    what = _objective_words(objective)
    if winner is None:
        summary = f"{what}: no eligible quote" + (f" ({'; '.join(words)})" if words else "")
    else:
        days = winner.quote.delivery_days
        eta = "" if days is None else f", {days} day{'s' if days != 1 else ''}"
        summary = f"{what}: {_figure(winner)}{eta}" + (f" ({'; '.join(words)})" if words else "")
    return winner, tuple(ordered), summary


def decide(
    *,
    facts: ShipmentFacts,
    quotes: Sequence[Quote],
    rules: Sequence[RateRule],
    default: Objective = Cheapest(),
) -> Decision:
    trace: list[str] = []
    notes: list[str] = []
    considered: tuple[Considered, ...] = ()
    for rule in sorted(rules, key=lambda r: (r.priority, r.id)):
        head = f"Rule {rule.name!r} (priority {rule.priority})"
        if (why_not := _mismatch(rule, facts)) is not None:
            trace.append(f"{head} skipped: {why_not}.")
            continue
        winner, considered, summary = _choose(rule, rule.objective, quotes, facts.currency)
        line = f"{head} matched: {_matched_words(rule, facts)}. {summary}."
        trace.append(line)
        if winner is not None:
            return Decision(winner.quote, rule, rule.objective, " ".join([*notes, line]),
                            considered, tuple(trace))  # fmt: skip
        notes.append(line + " Falling through.")
    winner, considered, summary = _choose(None, default, quotes, facts.currency)
    line = f"Default ({'no rule matched' if not notes else 'no matching rule chose'}). {summary}."
    trace.append(line)
    return Decision(None if winner is None else winner.quote, None, default,
                    " ".join([*notes, line]), considered, tuple(trace))  # fmt: skip
