"""Where the command line finds its server, site and credentials.

Sources, highest first (each setting comes from the first source that has it):

1. flags (`--server`, `--site`, ...);
2. the client's environment variables: TABLEAU_SERVER, TABLEAU_SITE, TABLEAU_PAT_NAME +
   TABLEAU_PAT_SECRET or TABLEAU_USERNAME + TABLEAU_PASSWORD;
3. a profile in `$XDG_CONFIG_HOME/tabsession/profiles.toml` (default
   `~/.config/tabsession/profiles.toml`): the one named by `--profile`, else by
   TABSESSION_PROFILE, else the file's `default`.

The credential is taken whole (kind, name and secret) from the highest source that names one,
so a PAT name from the environment is never paired with a profile's password. Profiles hold no
secret: `tabsession login` puts it in the OS keyring or a 0600 file (`tabsession.cli.secrets`).

    default = "prod"

    [profiles.prod]
    server = "https://tableau.example.com"
    site = "marketing"
    auth = "pat"            # or "password"
    name = "ci-token"       # the PAT's name, or the user name
    secret_store = "file"   # where login put the secret: "keyring" or "file"
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from tabsession.auth.credentials import Credential, Password, PersonalAccessToken

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "AuthKind",
    "ConfigError",
    "Connection",
    "Flags",
    "MissingCredentials",
    "Profile",
    "ProfileFile",
    "config_dir",
    "resolve",
]

AuthKind = Literal["pat", "password"]
AUTH_KINDS: tuple[AuthKind, ...] = ("pat", "password")
PROFILE_ENV = "TABSESSION_PROFILE"


class ConfigError(Exception):
    """The configuration cannot work: a missing profile, a bad file, a bad value (exit 2)."""


class MissingCredentials(ConfigError):
    """No source names a credential, or its secret is nowhere to be found (exit 4)."""


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    """`$XDG_CONFIG_HOME/tabsession`, or `~/.config/tabsession` when XDG_CONFIG_HOME is unset or
    not absolute (as the XDG spec requires)."""
    env = os.environ if env is None else env
    home = env.get("XDG_CONFIG_HOME", "")
    base = Path(home) if os.path.isabs(home) else Path.home() / ".config"
    return base / "tabsession"


@dataclass(frozen=True)
class Profile:
    """One named configuration: where to go and who to be (never the secret itself)."""

    name: str
    server: str = ""
    site: str = ""
    auth: AuthKind | None = None
    identity: str = ""
    """The PAT's name (auth = "pat") or the user name (auth = "password")."""
    secret_store: str = ""
    api_version: str = ""
    store: str = ""
    """Where sessions are shared: "file" (default), "memory", or a redis:// URL."""

    def to_toml(self) -> dict[str, str]:
        data = asdict(self)
        data.pop("name")
        data["name"] = data.pop("identity")
        return {key: value for key, value in data.items() if value}


def _profile_from(name: str, data: Any) -> Profile:
    if not isinstance(data, dict):
        raise ConfigError(f"profile {name!r} is not a table")
    unknown = set(data) - {"server", "site", "auth", "name", "secret_store", "api_version", "store"}
    if unknown:
        raise ConfigError(f"profile {name!r}: unknown keys {', '.join(sorted(unknown))}")
    for key, value in data.items():
        if not isinstance(value, str):
            raise ConfigError(f"profile {name!r}: {key} must be a string")
    auth = data.get("auth") or None
    if auth is not None and auth not in AUTH_KINDS:
        raise ConfigError(f"profile {name!r}: auth must be 'pat' or 'password', not {auth!r}")
    return Profile(
        name=name,
        server=data.get("server", ""),
        site=data.get("site", ""),
        auth=auth,
        identity=data.get("name", ""),
        secret_store=data.get("secret_store", ""),
        api_version=data.get("api_version", ""),
        store=data.get("store", ""),
    )


def _toml_string(value: str) -> str:
    # JSON's string escapes (\" \\ \n \uXXXX ...) are all valid in TOML basic strings
    return json.dumps(value, ensure_ascii=True)


def _toml_key(key: str) -> str:
    bare = key and all(c.isalnum() or c in "-_" for c in key) and key.isascii()
    return key if bare else _toml_string(key)


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` atomically, mode 0600, in a directory of mode 0700."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@dataclass
class ProfileFile:
    """`profiles.toml`: the profiles and which one is the default."""

    path: Path
    profiles: dict[str, Profile] = field(default_factory=dict)
    default: str = ""

    @classmethod
    def load(cls, directory: Path | None = None) -> ProfileFile:
        path = (directory or config_dir()) / "profiles.toml"
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path)
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from None
        except RecursionError:  # tomllib recurses per nested array or inline table
            raise ConfigError(f"cannot read {path}: nested too deeply") from None
        tables = data.get("profiles", {})
        if not isinstance(tables, dict):
            raise ConfigError(f"{path}: [profiles] must be a table")
        default = data.get("default", "")
        if not isinstance(default, str):
            raise ConfigError(f"{path}: default must be a profile name")
        profiles = {name: _profile_from(name, table) for name, table in tables.items()}
        return cls(path, profiles, default)

    def save(self) -> None:
        lines = ["# tabsession profiles (tabsession login / logout / profiles). No secrets here."]
        if self.default:
            lines.append(f"default = {_toml_string(self.default)}")
        for name, profile in sorted(self.profiles.items()):
            lines.append("")
            lines.append(f"[profiles.{_toml_key(name)}]")
            for key, value in profile.to_toml().items():
                lines.append(f"{key} = {_toml_string(value)}")
        write_private(self.path, "\n".join(lines) + "\n")

    def chosen(self, name: str | None, env: Mapping[str, str]) -> Profile | None:
        """The profile named by the flag, else TABSESSION_PROFILE, else the default; None when
        none is named and there is no default. Naming a profile that does not exist fails."""
        wanted = name or env.get(PROFILE_ENV, "").strip() or None
        if wanted is None:
            return self.profiles.get(self.default) if self.default else None
        if wanted not in self.profiles:
            known = ", ".join(sorted(self.profiles)) or "none yet: run tabsession login"
            raise ConfigError(f"no profile named {wanted!r} (profiles: {known})")
        return self.profiles[wanted]


@dataclass(frozen=True)
class Connection:
    """Everything needed to build a client. `credential` hides its secret in repr()."""

    server: str
    site: str
    credential: Credential
    profile: str | None = None
    api_version: str | None = None
    store: str = "file"
    sources: dict[str, str] = field(default_factory=dict)
    """Where each setting came from ("flag", "env", "profile NAME"), for `doctor`."""


@dataclass(frozen=True)
class Flags:
    """What the command line said (None: not given)."""

    profile: str | None = None
    server: str | None = None
    site: str | None = None
    api_version: str | None = None
    store: str | None = None


def make_credential(kind: AuthKind, identity: str, secret: str) -> Credential:
    if kind == "pat":
        return PersonalAccessToken(identity, secret)
    return Password(identity, secret)


def env_credential(env: Mapping[str, str]) -> Credential | None:
    """The credential the environment names (a PAT wins over a password), or None."""
    pat_name, pat_secret = env.get("TABLEAU_PAT_NAME", ""), env.get("TABLEAU_PAT_SECRET", "")
    user, password = env.get("TABLEAU_USERNAME", ""), env.get("TABLEAU_PASSWORD", "")
    if pat_name or pat_secret:
        if not (pat_name and pat_secret):
            raise MissingCredentials("set both TABLEAU_PAT_NAME and TABLEAU_PAT_SECRET")
        return make_credential("pat", pat_name, pat_secret)
    if user or password:
        if not (user and password):
            raise MissingCredentials("set both TABLEAU_USERNAME and TABLEAU_PASSWORD")
        return make_credential("password", user, password)
    return None


def resolve(
    flags: Flags,
    *,
    env: Mapping[str, str] | None = None,
    directory: Path | None = None,
) -> Connection:
    """Flags, then environment, then the chosen profile (see the module's docstring)."""
    from tabsession.cli import secrets

    env = os.environ if env is None else env
    profile = ProfileFile.load(directory).chosen(flags.profile, env)
    sources: dict[str, str] = {}
    where = f"profile {profile.name}" if profile else ""

    def pick(name: str, flag: str | None, env_name: str | None, from_profile: str) -> str:
        if flag is not None:
            sources[name] = "flag"
            return flag
        if env_name is not None and env_name in env:
            sources[name] = f"env {env_name}"
            return env[env_name].strip()
        if profile is not None and from_profile:
            sources[name] = where
        return from_profile

    server = pick("server", flags.server, "TABLEAU_SERVER", profile.server if profile else "")
    site = pick("site", flags.site, "TABLEAU_SITE", profile.site if profile else "")
    version = pick("api_version", flags.api_version, None, profile.api_version if profile else "")
    store = pick("store", flags.store, "TABSESSION_STORE", profile.store if profile else "")
    if not server:
        raise ConfigError(
            "no server: pass --server URL, set TABLEAU_SERVER, or run tabsession login"
        )
    credential = env_credential(env)
    if credential is not None:
        sources["credential"] = "env"
    elif profile is not None and profile.auth is not None and profile.identity:
        secret = secrets.load(profile)
        if secret is None:
            raise MissingCredentials(
                f"profile {profile.name!r} has no stored secret: run tabsession login "
                f"--profile {profile.name}"
            )
        credential = make_credential(profile.auth, profile.identity, secret)
        sources["credential"] = where
    else:
        raise MissingCredentials(
            "no credentials: run tabsession login, or set TABLEAU_PAT_NAME and "
            "TABLEAU_PAT_SECRET (or TABLEAU_USERNAME and TABLEAU_PASSWORD)"
        )
    return Connection(
        server=server.rstrip("/"),
        site=site,
        credential=credential,
        profile=profile.name if profile else None,
        api_version=version or None,
        store=store or "file",
        sources=sources,
    )
