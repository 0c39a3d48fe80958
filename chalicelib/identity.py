"""Who is calling: the verified caller that routes and services receive."""
from __future__ import annotations

from dataclasses import dataclass

CLIENT = "client"
PROVIDER = "provider"
OPS = "ops"

PROVIDERS_GROUP = "providers"
OPS_GROUP = "ops"


def role_from_groups(groups: list[str] | tuple[str, ...]) -> str:
    """SPEC §1: `providers` or `ops` group; in neither, a client. Ops outranks provider."""
    if OPS_GROUP in groups:
        return OPS
    if PROVIDERS_GROUP in groups:
        return PROVIDER
    return CLIENT


@dataclass(frozen=True)
class Caller:
    id: str  # the Cognito `sub`; also the client's or provider's id in Haven
    email: str
    role: str
    username: str = ""  # `cognito:username`: how staff are looked up (the email claim can change)
    issued_at: int = 0  # the token's `iat` (epoch seconds): a revocation refuses older tokens

    @property
    def is_client(self) -> bool:
        return self.role == CLIENT

    @property
    def is_provider(self) -> bool:
        return self.role == PROVIDER

    @property
    def is_ops(self) -> bool:
        return self.role == OPS
