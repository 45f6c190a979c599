"""Domain failures. Each carries a stable code; the API maps codes to problem+json once."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "domain-error"
    title = "The request could not be carried out"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(DomainError):
    code = "not-found"
    title = "Not found"


class ValidationFailed(DomainError):
    code = "validation-failed"
    title = "The data is not valid"


class InsufficientStock(DomainError):
    code = "insufficient-stock"
    title = "Not enough stock"


class InvalidTransition(DomainError):
    code = "invalid-transition"
    title = "The order cannot move to that state"


class MissingEvidence(DomainError):
    code = "missing-evidence"
    title = "The transition needs evidence that was not given"


class OrderLocked(DomainError):
    code = "order-locked"
    title = "The order is already on the floor"


class IdempotencyMismatch(DomainError):
    code = "idempotency-key-reused"
    title = "The idempotency key was used with a different request"


class BarcodeConflict(DomainError):
    code = "barcode-conflict"
    title = "The barcode is already mapped in that period"


class InvalidBarcode(DomainError):
    code = "invalid-barcode"
    title = "The barcode is not valid"


class Unauthenticated(DomainError):
    code = "unauthenticated"
    title = "Authentication is required"


class Forbidden(DomainError):
    code = "forbidden"
    title = "Not allowed for this operator"


class SelfApproval(DomainError):
    code = "self-approval"
    title = "A request cannot be approved by the person who made it"


class ApprovalStateError(DomainError):
    code = "approval-state"
    title = "The approval request is not in a state that allows this"


class PayloadMismatch(DomainError):
    code = "approval-payload-mismatch"
    title = "The payload differs from the one that was approved"


class DuplicateEntry(DomainError):
    code = "duplicate"
    title = "That already exists"


class InvalidSignature(DomainError):
    code = "invalid-signature"
    title = "The webhook signature does not match"


class ExceptionStateError(DomainError):
    code = "exception-state"
    title = "The exception cannot be resolved that way"


class ProviderUnavailable(DomainError):
    """A shipping provider timed out, is down or asked us to slow down: try again later."""

    code = "provider-unavailable"
    title = "The shipping provider is not answering"
