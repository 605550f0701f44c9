"""Where the CLI finds its server and token, and the config file `flux-edge login` writes.

One place for both: `--url`, then `FLUX_EDGE_URL`, then the config file, then the default URL; the
token from `FLUX_EDGE_TOKEN`, then the config file (`$XDG_CONFIG_HOME/flux-edge/config.json`,
`{"url": ..., "token": ...}`, mode 0600).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Final

DEFAULT_URL: Final = "http://127.0.0.1:8080"


class ClientError(Exception):
    """A client command that cannot be done; the message says why, in one line."""


class ConfigError(ClientError):
    """The config file cannot be read or written."""


def config_path() -> Path:
    """Where the CLI's config file lives."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "flux-edge" / "config.json"


def find_credentials(url: str | None) -> tuple[str, str | None]:
    """The server URL and token (see the module docstring for the order)."""
    config = read_config()
    found_url = url or os.environ.get("FLUX_EDGE_URL") or config.get("url") or DEFAULT_URL
    token = os.environ.get("FLUX_EDGE_TOKEN") or config.get("token")
    return str(found_url).rstrip("/"), (str(token) if token else None)


def read_config() -> dict[str, Any]:
    """The config file's object, or {} when there is none."""
    path = config_path()
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{path} must hold a JSON object")
    return value


def write_config(url: str, token: str) -> Path:
    """Save `url` and `token` to the config file, readable by its owner only; its path."""
    path = config_path()
    text = json.dumps({"url": url.rstrip("/"), "token": token}, indent=2) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Written to a private temporary file and renamed, so the token is never readable by
        # others, not even for a moment, and a crash never leaves half a file.
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        os.chmod(partial, 0o600)  # O_CREAT's mode is masked by the umask
        os.replace(partial, path)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc}") from None
    return path
