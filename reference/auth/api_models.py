"""Request and response bodies of the auth API (and so its OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from reference.auth.passwords import MAX_LENGTH, POLICY_SUMMARY
from reference.platform.api_models import Strict

# Length is checked by the policy (with a message that explains it); this only bounds the request.
Password = Annotated[str, Field(min_length=1, max_length=4 * MAX_LENGTH, description=POLICY_SUMMARY)]
Code = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{6}$", description="the 6-digit code the authenticator app shows", examples=["123456"]
    ),
]
Reason = Annotated[str | None, Field(max_length=500)]


class LoginRequest(Strict):
    tenant_id: UUID
    username: Annotated[str, Field(min_length=1, max_length=64, examples=["alice"])]
    password: Annotated[str, Field(min_length=1, max_length=4 * MAX_LENGTH)]
    code: Annotated[
        str | None,
        Field(
            pattern=r"^[0-9]{6}$",
            description="the TOTP code; required once a second factor is confirmed",
            examples=["123456"],
        ),
    ] = None


class RefreshRequest(Strict):
    refresh_token: Annotated[str, Field(min_length=1, max_length=200)]


class LogoutRequest(Strict):
    refresh_token: Annotated[str, Field(min_length=1, max_length=200)]


class IntrospectionRequest(Strict):
    token: Annotated[str, Field(min_length=1, max_length=8192)]
    token_type_hint: Literal["access_token", "refresh_token"] | None = None


class NewPassword(Strict):
    password: Password


class PasswordChange(Strict):
    current_password: Annotated[str, Field(min_length=1, max_length=4 * MAX_LENGTH)]
    new_password: Password


class SecondFactorConfirmation(Strict):
    code: Code


class Justification(Strict):
    reason: Reason = None


class TokenGrant(BaseModel):
    token_type: Literal["Bearer"] = "Bearer"
    access_token: str
    expires_in: int = Field(description="seconds the access token is valid")
    refresh_token: str = Field(description="opaque; rotated at every refresh; keep it secret")
    refresh_expires_in: int = Field(description="seconds the refresh token is valid if unused")
    session_id: UUID


class Authenticated(TokenGrant):
    status: Literal["authenticated"] = "authenticated"


class EnrolmentRequired(BaseModel):
    status: Literal["second_factor_enrolment_required"] = "second_factor_enrolment_required"
    enrolment_token: str = Field(
        description="Bearer token for POST /v1/me/second-factor and its confirmation, and nothing else"
    )
    expires_in: int


class SecondFactorEnrolment(BaseModel):
    method: Literal["totp"] = "totp"
    secret: str = Field(description="base32; shown once, never again")
    otpauth_uri: str = Field(description="for a QR code an authenticator app scans")
    algorithm: Literal["SHA1"] = "SHA1"
    digits: int = 6
    period: int = 30
    credential: Credential


class Credential(BaseModel):
    tenant_id: UUID
    id: UUID
    user_id: UUID
    password_set_at: datetime
    password_set_by: Literal["administrator", "user"]
    second_factor: Literal["none", "pending", "confirmed"]
    second_factor_enrolled_at: datetime | None
    second_factor_confirmed_at: datetime | None
    second_factor_confirmed_step: int | None
    failed_logins: int
    failure_window_started_at: datetime | None
    last_failed_at: datetime | None
    locked_until: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class Session(BaseModel):
    tenant_id: UUID
    id: UUID
    user_id: UUID
    credential_id: UUID
    status: Literal["active", "revoked"]
    second_factor_step: int
    started_at: datetime
    last_refreshed_at: datetime | None
    refresh_expires_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_reason: Literal["logout", "revoked", "refresh_token_reused"] | None
    version: int
    created_at: datetime
    updated_at: datetime


class RevokedSessions(BaseModel):
    revoked: list[Session]


class Introspection(BaseModel):
    """RFC 7662: ``active`` alone when the token is not usable; its claims when it is."""

    model_config = ConfigDict(extra="allow")

    active: bool
    token_type: Literal["access_token", "refresh_token"] | None = None
    sub: str | None = None
    username: str | None = None
    tenant_id: UUID | None = None
    roles: list[str] | None = None
    seats: list[str] | None = None
    sid: str | None = None
    jti: str | None = None
    iss: str | None = None
    aud: str | None = None
    iat: int | None = None
    exp: int | None = None


class Jwks(BaseModel):
    keys: list[dict[str, Any]]


SecondFactorEnrolment.model_rebuild()
