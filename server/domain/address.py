"""What an address needs before a carrier will take the parcel (the exception queue's reasons)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Postcode shapes for the countries we ship most; others only need to be non-empty.
_POSTCODE = {
    "US": re.compile(r"^\d{5}(-\d{4})?$"),
    "DE": re.compile(r"^\d{5}$"),
    "FR": re.compile(r"^\d{5}$"),
    "NL": re.compile(r"^\d{4} ?[A-Z]{2}$"),
    "GB": re.compile(r"^[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}$"),
    "CA": re.compile(r"^[A-Z]\d[A-Z] ?\d[A-Z]\d$"),
    "AT": re.compile(r"^\d{4}$"),
    "BE": re.compile(r"^\d{4}$"),
}
_PHONE = re.compile(r"^\+?[\d ()./-]{6,20}$")


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    line1: str
    line2: str
    city: str
    region: str
    postcode: str
    country: str
    phone: str


@dataclass(frozen=True, slots=True)
class AddressProblem:
    kind: str  # "missing_address" | "invalid_address" | "missing_phone"
    reason: str


def address_problems(
    *, address: Address, origin_country: str | None, phone_required: bool
) -> list[AddressProblem]:
    problems: list[AddressProblem] = []
    missing = [
        label
        for label, value in (
            ("name", address.name),
            ("street", address.line1),
            ("city", address.city),
            ("postcode", address.postcode),
            ("country", address.country),
        )
        if not value.strip()
    ]
    if missing:
        problems.append(
            AddressProblem("missing_address", f"address is missing: {', '.join(missing)}")
        )
    else:
        country = address.country.strip().upper()
        if len(country) != 2 or not country.isalpha():
            problems.append(
                AddressProblem("invalid_address", f"country {address.country!r} is not ISO 3166")
            )
        pattern = _POSTCODE.get(country)
        if pattern and not pattern.match(address.postcode.strip().upper()):
            problems.append(
                AddressProblem(
                    "invalid_address",
                    f"postcode {address.postcode!r} is not valid for {country}",
                )
            )
    international = bool(origin_country) and address.country.strip().upper() != origin_country
    if (phone_required or international) and not address.phone.strip():
        why = "the carrier needs a phone number for " + (
            "an international shipment" if international else "this channel"
        )
        problems.append(AddressProblem("missing_phone", why))
    elif address.phone.strip() and not _PHONE.match(address.phone.strip()):
        problems.append(
            AddressProblem("missing_phone", f"phone {address.phone!r} is not a phone number")
        )
    return problems
