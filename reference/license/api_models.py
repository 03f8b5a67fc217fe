"""Request and response bodies of the license API (and so its OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field

from reference.platform.api_models import Strict

SeatCount = Annotated[int, Field(ge=1, le=100000, description="how many users may hold a seat at once")]
Reason = Annotated[str | None, Field(max_length=500, description="why, for the event's payload")]


class NewLicense(Strict):
    plan_id: Annotated[UUID, Field(description="a plan of GET /v1/plans")]
    seats: SeatCount
    valid_from: Annotated[
        AwareDatetime | None, Field(description="start of validity, with a time zone; default: now")
    ] = None
    valid_until: Annotated[
        AwareDatetime, Field(description="end of validity (exclusive), with a time zone; in the future")
    ]


class SeatCountChange(Strict):
    seats: SeatCount


class Revocation(Strict):
    reason: Reason = None


class SeatRequest(Strict):
    user_id: Annotated[UUID, Field(description="an active user of the tenant's directory")]


class Release(Strict):
    reason: Reason = None


class Plan(BaseModel):
    id: UUID
    code: str
    name: str
    description: str
    features: list[str]
    max_seats: int | None = Field(description="most seats a license of this plan may have; null: no limit")


class License(BaseModel):
    tenant_id: UUID
    id: UUID
    plan_id: UUID
    seats: int
    valid_from: datetime
    valid_until: datetime
    status: Literal["active", "revoked"]
    version: int
    created_at: datetime
    updated_at: datetime
    revoked_at: datetime | None
    seats_assigned: int = Field(description="how many of its seats are assigned now")


class LicensePage(BaseModel):
    items: list[License]
    next_after: UUID | None = Field(description="pass as `after` for the next page; null on the last one")


class SeatAssignment(BaseModel):
    tenant_id: UUID
    id: UUID
    license_id: UUID
    user_id: UUID
    status: Literal["assigned", "released"]
    assigned_at: datetime
    released_at: datetime | None
    version: int


class SeatPage(BaseModel):
    items: list[SeatAssignment]
    next_after: UUID | None = Field(description="pass as `after` for the next page; null on the last one")
