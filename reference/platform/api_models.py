"""Bodies every service's API shares: the strict request base and a recorded event."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """A request body that refuses unknown fields (a typo is a 422 naming it, not silently ignored)."""

    model_config = ConfigDict(extra="forbid")


class Event(BaseModel):
    """One ``domain_event`` row, as history endpoints return it (``RecordedEvent.as_json``)."""

    id: UUID
    tenant_id: UUID
    kind: str
    aggregate_id: UUID
    version: int
    event_name: str
    event_version: int
    state: dict[str, Any]
    payload: dict[str, Any]
    event_at: datetime
    tx_id: str
