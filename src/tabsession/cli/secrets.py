"""Where `tabsession login` keeps a profile's secret (PAT secret or password).

Default: the OS keyring through the `keyring` package (`pip install 'tabsession[keyring]'`)
when it is installed and has a usable backend; otherwise a file,
`$XDG_CONFIG_HOME/tabsession/secrets.json`, mode 0600 in a 0700 directory, written atomically.
Set TABSESSION_SECRETS=file or =keyring to choose (keyring then fails loudly when unusable).
A secrets file that group or others can read, or that another user owns, is refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from pathlib import Path
from typing import Any

from tabsession.cli.config import ConfigError, Profile, config_dir, write_private

__all__ = ["KEYRING_SERVICE", "backend_for_new_secret", "delete", "load", "save"]

KEYRING_SERVICE = "tabsession"
CHOICE_ENV = "TABSESSION_SECRETS"


def _keyring() -> Any | None:
    """The keyring module when it has a real backend (not the fail/null ones), else None."""
    try:
        import keyring
        from keyring.backends import fail, null
    except ImportError:
        return None
    backend = keyring.get_keyring()
    if isinstance(backend, (fail.Keyring, null.Keyring)):
        return None
    return keyring


def backend_for_new_secret() -> str:
    """ "keyring" or "file", by TABSESSION_SECRETS, else keyring when usable."""
    choice = os.environ.get(CHOICE_ENV, "").strip().lower()
    if choice == "file":
        return "file"
    if choice == "keyring":
        if _keyring() is None:
            raise ConfigError(
                "TABSESSION_SECRETS=keyring but no usable keyring: pip install "
                "'tabsession[keyring]' and set up an OS keyring, or use TABSESSION_SECRETS=file"
            )
        return "keyring"
    if choice:
        raise ConfigError(f"TABSESSION_SECRETS must be 'keyring' or 'file', not {choice!r}")
    return "keyring" if _keyring() is not None else "file"


def file_path() -> Path:
    return config_dir() / "secrets.json"


def _read_file(path: Path) -> dict[str, str]:
    try:
        info = path.stat()
    except FileNotFoundError:
        return {}
    if os.name == "posix" and (
        info.st_uid != os.getuid()
        or stat.S_IMODE(info.st_mode) & 0o077
        or not stat.S_ISREG(info.st_mode)
    ):
        raise ConfigError(
            f"{path} is readable by others or not yours: refusing it (chmod 600 it, or delete "
            "it and run tabsession login again)"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {type(exc).__name__}") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ConfigError(f"{path} is not a tabsession secrets file")
    return data


def _key(profile: Profile) -> str:
    return f"{profile.name}:{profile.auth}:{profile.identity}"


def save(profile: Profile, secret: str, backend: str) -> str:
    """Keep `secret` for `profile` in `backend` ("keyring" or "file"); returns where it went.

    When the keyring was picked automatically (TABSESSION_SECRETS unset) and refuses (a locked
    or absent Secret Service, no D-Bus session), the secret goes to the file instead."""
    if backend == "keyring":
        keyring = _keyring()
        if keyring is None:
            raise ConfigError("no usable keyring (pip install 'tabsession[keyring]')")
        from keyring.errors import KeyringError

        try:
            keyring.set_password(KEYRING_SERVICE, _key(profile), secret)
        except KeyringError as exc:
            if os.environ.get(CHOICE_ENV, "").strip():
                raise ConfigError(
                    f"the OS keyring refused the secret: {type(exc).__name__}"
                ) from None
        else:
            return "keyring"
    path = file_path()
    data = _read_file(path)
    data[_key(profile)] = secret
    write_private(path, json.dumps(data, indent=1, sort_keys=True) + "\n")
    return "file"


def load(profile: Profile) -> str | None:
    """The secret `login` kept for `profile`, or None."""
    if profile.secret_store == "keyring":
        keyring = _keyring()
        if keyring is None:
            raise ConfigError(
                f"profile {profile.name!r} keeps its secret in the OS keyring, which is not "
                "available here (pip install 'tabsession[keyring]')"
            )
        value = keyring.get_password(KEYRING_SERVICE, _key(profile))
        return value if isinstance(value, str) else None
    return _read_file(file_path()).get(_key(profile))


def delete(profile: Profile) -> bool:
    """Forget `profile`'s secret wherever it is; True when there was one."""
    found = False
    keyring = _keyring() if profile.secret_store == "keyring" else None
    if keyring is not None:
        from keyring.errors import KeyringError

        with contextlib.suppress(KeyringError):  # there was none, or the keyring is locked
            keyring.delete_password(KEYRING_SERVICE, _key(profile))
            found = True
    path = file_path()
    data = _read_file(path)
    if _key(profile) in data:
        del data[_key(profile)]
        write_private(path, json.dumps(data, indent=1, sort_keys=True) + "\n")
        found = True
    return found
