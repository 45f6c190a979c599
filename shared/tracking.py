"""Does a scanned carton label carry a package's tracking number? One rule for the bench (which
answers the packer at once) and the server (which only then calls the package labelled)."""

from __future__ import annotations


def tracking_matches(*, scanned: str, tracking_number: str) -> bool:
    """The number must be the whole scan, or its tail after USPS IMpb's routing prefix (GS1 AI 420
    + the 5- or 9-digit destination ZIP, printed above the tracking barcode on USPS labels). A
    bare substring is not enough: a short number would match inside someone else's barcode."""
    s = scanned.strip().replace("\x1d", "")
    n = tracking_number.strip()
    if not n:
        return False
    if s.upper() == n.upper():
        return True
    if s.startswith("420") and s.endswith(n):
        head = s[: len(s) - len(n)]
        return len(head) in (8, 12) and head[3:].isdigit()
    return False
