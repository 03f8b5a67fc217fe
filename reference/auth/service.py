"""What auth's requests share in one process, prepared when the app starts."""

from __future__ import annotations

from reference.auth.authenticator import Authenticator
from reference.auth.identity import Identity
from reference.auth.model import Auth
from reference.auth.passwords import PasswordHashing
from reference.auth.policy import AuthPolicy
from reference.auth.tokens import SigningKey, TokenIssuer
from reference.platform.access_tokens import PublicKeyCache
from reference.platform.callers import ServiceRuntime


class AuthService:
    """The aggregates (at import) and the flows (at start, once settings and the pool exist)."""

    def __init__(self) -> None:
        self.auth = Auth()
        self.identity = Identity()
        self._authenticator: Authenticator | None = None
        self._issuer: TokenIssuer | None = None

    async def start(self, runtime: ServiceRuntime) -> None:
        """Read the policy from the environment and build the flows (the app's ``on_startup``)."""
        settings = runtime.settings
        policy = AuthPolicy.from_environment()
        self._issuer = TokenIssuer(
            settings, SigningKey(runtime.pool), PublicKeyCache(runtime.pool, settings.public_key_cache_s)
        )
        self._authenticator = Authenticator(
            pool=runtime.pool,
            auth=self.auth,
            identity=self.identity,
            hashing=PasswordHashing(policy.hashing_concurrency),
            issuer=self._issuer,
            verifier=runtime.verifier,
            policy=policy,
            issuer_name=settings.token_issuer,
            audience=settings.token_audience,
        )

    @property
    def authenticator(self) -> Authenticator:
        if self._authenticator is None:
            raise RuntimeError("the auth service has not started")
        return self._authenticator

    @property
    def issuer(self) -> TokenIssuer:
        if self._issuer is None:
            raise RuntimeError("the auth service has not started")
        return self._issuer
