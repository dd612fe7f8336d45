"""What a client tells about its session: everything but the token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["SessionInfo"]


@dataclass(frozen=True)
class SessionInfo:
    """The session a client is using now (read it from `client.session`).

    `generation` counts sign-ins for this server + site + credential across everyone sharing
    the token store: it goes up by one with each new session. `pat_expires_in` is the personal
    access token's own remaining life, when this process signed in with one and Tableau said.
    `learned_lifetime` is followed instead of the policy's assumption unless `policy=` was given.
    """

    server: str
    site_id: str
    site_content_url: str
    user_id: str
    api_version: str
    generation: int
    signed_in_at: datetime
    pat_expires_in: timedelta | None = None
    learned_lifetime: str = ""
    """What tabsession learned of the server's session lifetime from the sessions it ended,
    when that is shorter than the policy assumed (e.g. "absolute 20s"); "" otherwise."""
