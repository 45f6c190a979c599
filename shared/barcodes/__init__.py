"""Barcode interpretation shared by the bench and the server: AIM, GTIN, GS1."""

from shared.barcodes.aim import Family, Symbology, parse_symbology, split_prefix
from shared.barcodes.gtin import gtin_check_digit, is_valid_gtin, to_gtin14
from shared.barcodes.interpret import MAX_LENGTH, interpret
from shared.barcodes.values import Gs1Message, Gtin, InternalCode, Interpretation, Sscc, Unknown

__all__ = [
    "MAX_LENGTH",
    "Family",
    "Gs1Message",
    "Gtin",
    "InternalCode",
    "Interpretation",
    "Sscc",
    "Symbology",
    "Unknown",
    "gtin_check_digit",
    "interpret",
    "is_valid_gtin",
    "parse_symbology",
    "split_prefix",
    "to_gtin14",
]
