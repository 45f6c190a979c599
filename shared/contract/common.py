"""Shapes used across the contract."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

# Database ids are 64-bit: anything larger is a client error, not something to hand to SQL.
MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Problem(Model):
    """RFC 9457 problem details; `type` is stable per failure, `detail` is for people."""

    model_config = ConfigDict(extra="allow", frozen=True)
    type: str
    title: str
    status: int
    detail: str


class AddressIn(Model):
    name: str = Field(default="", max_length=200)
    line1: str = Field(default="", max_length=200)
    line2: str = Field(default="", max_length=200)
    city: str = Field(default="", max_length=100)
    region: str = Field(default="", max_length=100)
    postcode: str = Field(default="", max_length=20)
    country: str = Field(default="", max_length=2)
    phone: str = Field(default="", max_length=40)


class Created(Model):
    id: int


class Json(Model):
    model_config = ConfigDict(extra="allow", frozen=True)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.model_extra or {})
