"""Whose memories a call is about: the call's own ``user_id``/``agent_id``, else the server's defaults."""

from __future__ import annotations

from dataclasses import dataclass

from memstream_client.async_client import AsyncMemstream
from memstream_client.integrations.mcp.access import CallerCredential, Clients


@dataclass(frozen=True)
class Caller:
    """What a tool or resource needs to act: the client carrying the caller's credential, and the scope."""

    client: AsyncMemstream
    user_id: str | None
    agent_id: str | None
    app_id: str | None


class Scoping:
    def __init__(
        self,
        clients: Clients,
        credential: CallerCredential,
        user_id: str | None,
        agent_id: str | None,
        app_id: str | None,
    ) -> None:
        self.clients = clients
        self.credential = credential
        self.default_user = user_id
        self.default_agent = agent_id
        self.app_id = app_id

    def caller(self, user_id: str | None = None, agent_id: str | None = None) -> Caller:
        """``user_id`` None: the server's user, else none at all (a user-bound credential's own user; the API
        answers 400, naming it, when an app-wide credential names no user)."""
        return Caller(
            self.clients.for_credential(self.credential.current()),
            user_id or self.default_user,
            agent_id or self.default_agent,
            self.app_id,
        )

    def user_description(self) -> str:
        if self.default_user:
            return f"Whose memories: a user id. Leave it out for this server's user, {self.default_user!r}."
        return (
            "Whose memories: the id of the user you are helping. Required unless your credential is bound to"
            " one user (then leave it out)."
        )
