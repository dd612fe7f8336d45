"""Everything tabsession touches inside tableauserverclient (TSC) that TSC does not document.

This is the one module that knows TSC's private state; the rest of `tabsession.tsc` speaks
only `requests` and the Tableau REST wire format. What is used, and since when:

- `Server._session_factory` (TSC 0.23+, also the public `session_factory=` argument): TSC calls
  it for every `requests.Session` it makes: at construction, in `_clear_auth` (sign-out) and,
  since 0.41, once per thread. A factory therefore survives all three.
- The sessions TSC made before the hook: `Server.close()` (0.41+, public) makes every thread
  build a new one from the factory; before 0.41 the single `Server._session` is replaced.
- `Server._set_auth(site_id, user_id, token[, site_url])`: how TSC's own sign-in records its
  state (the fourth argument exists since 0.36; since 0.41 the state is swapped atomically).
- `Server._use_server_version` (0.41+): TSC negotiates the REST API version after its own
  sign-in when asked to at construction; keep_signed_in does the same.

The supported TSC range is checked once, with a message that says what to install.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import re
from collections.abc import Callable
from typing import Any

from tabsession.errors import ConfigurationError

__all__ = [
    "OLDEST_SUPPORTED",
    "TESTED_NEWEST",
    "check_supported",
    "install_session_factory",
    "set_auth_state",
    "tsc_version",
    "use_server_version_if_asked",
]

OLDEST_SUPPORTED = (0, 30)
"""The oldest TSC release keep_signed_in works with (tested in CI, see tests/clients)."""
TESTED_NEWEST = (0, 42)
"""The newest TSC release tested. Later 0.x releases are accepted when their hook points exist."""
_FIRST_UNSUPPORTED = (1, 0)

SessionFactory = Callable[[], Any]


def tsc_version() -> str:
    """The installed tableauserverclient version (raises ConfigurationError when missing)."""
    try:
        return importlib.metadata.version("tableauserverclient")
    except importlib.metadata.PackageNotFoundError:
        raise ConfigurationError(
            "tableauserverclient is not installed: pip install 'tabsession[tsc]'"
        ) from None


def _release(version: str) -> tuple[int, int]:
    found = re.match(r"(\d+)\.(\d+)", version)
    if found is None:
        return (0, 0)
    return int(found.group(1)), int(found.group(2))


def _supported_range() -> str:
    oldest = ".".join(map(str, OLDEST_SUPPORTED))
    newest = ".".join(map(str, TESTED_NEWEST))
    return f"tableauserverclient >= {oldest}, < 1.0 (tested {oldest} to {newest})"


def check_supported(server: Any) -> None:
    """Refuse, with what to install, a TSC release or a `Server` without the hook points."""
    version = tsc_version()
    release = _release(version)
    if not OLDEST_SUPPORTED <= release < _FIRST_UNSUPPORTED:
        raise ConfigurationError(
            f"tabsession.tsc supports {_supported_range()}; tableauserverclient {version} is "
            f"installed: pip install 'tableauserverclient>={OLDEST_SUPPORTED[0]}."
            f"{OLDEST_SUPPORTED[1]},<1'"
        )
    missing = [
        name
        for name in ("_session_factory", "_set_auth", "server_address", "auth")
        if not hasattr(server, name)
    ]
    if missing:
        raise ConfigurationError(
            f"this tableauserverclient.Server ({version}) lacks {', '.join(missing)}: "
            f"keep_signed_in needs a TSC Server from {_supported_range()}"
        )


def install_session_factory(server: Any, wrap: Callable[[Any], Any]) -> None:
    """Make every `requests.Session` TSC uses (now, after sign-out, in every thread) pass
    through `wrap(session)`. Calling it again replaces the earlier hook instead of stacking."""
    original: SessionFactory = getattr(
        server._session_factory, "tabsession_original", server._session_factory
    )

    def factory() -> Any:
        return wrap(original())

    factory.tabsession_original = original  # type: ignore[attr-defined]
    server._session_factory = factory
    if hasattr(server, "_thread_sessions") and callable(getattr(server, "close", None)):
        server.close()  # TSC 0.41+: every thread's cached session is rebuilt from the factory
    else:
        server._session = factory()


def set_auth_state(
    server: Any, *, site_id: str, user_id: str, token: str, site_content_url: str
) -> None:
    """Record a session in TSC's own state, as TSC's sign-in does."""
    if "site_url" in inspect.signature(server._set_auth).parameters:
        server._set_auth(site_id, user_id, token, site_content_url)
    else:  # TSC < 0.36 does not keep the site's contentUrl
        server._set_auth(site_id, user_id, token)


def use_server_version_if_asked(server: Any) -> None:
    """TSC 0.41+ defers `use_server_version=True` to its sign-in; do what that sign-in does."""
    if getattr(server, "_use_server_version", False):
        server.use_server_version()


def is_signed_in(server: Any) -> bool:
    return bool(server.is_signed_in())
