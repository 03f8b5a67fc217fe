"""Request and response bodies of the directory API (and so its OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from reference.platform.api_models import Strict

Username = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9][a-z0-9._-]{2,63}$",
        description="3 to 64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
        examples=["alice"],
    ),
]
RoleName = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9_-]{1,62}$",
        description="2 to 63 lower-case letters, digits, '_' or '-', starting with a letter",
        examples=["clinician"],
    ),
]


class NewTenant(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200, examples=["Clinic North"])]


class NewUser(Strict):
    username: Username
    display_name: Annotated[str, Field(min_length=1, max_length=200, examples=["Alice Martin"])]
    email: Annotated[
        str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+$", examples=["alice@clinic.example"])
    ]


class UsernameChange(Strict):
    username: Username


class Deactivation(Strict):
    reason: Annotated[str | None, Field(max_length=500)] = None


class NewRole(Strict):
    name: RoleName
    description: Annotated[str, Field(max_length=500)] = ""


class RoleAssignmentRequest(Strict):
    role_id: UUID


class Tenant(BaseModel):
    tenant_id: UUID
    id: UUID
    name: str
    status: Literal["active", "suspended"]
    version: int
    created_at: datetime
    updated_at: datetime


class User(BaseModel):
    tenant_id: UUID
    id: UUID
    username: str
    display_name: str
    email: str
    status: Literal["active", "deactivated"]
    version: int
    created_at: datetime
    updated_at: datetime
    deactivated_at: datetime | None


class UserPage(BaseModel):
    items: list[User]
    next_after: str | None = Field(description="pass as `after` for the next page; null on the last one")


class Role(BaseModel):
    tenant_id: UUID
    id: UUID
    name: str
    description: str
    version: int
    created_at: datetime
    updated_at: datetime


class RolePage(BaseModel):
    items: list[Role]
    next_after: str | None


class RoleAssignment(BaseModel):
    tenant_id: UUID
    id: UUID
    user_id: UUID
    role_id: UUID
    status: Literal["active", "revoked"]
    version: int
    created_at: datetime
    updated_at: datetime
    role_name: str | None = None
