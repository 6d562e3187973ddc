"""The one place ordersctl talks to HCP Terraform / Terraform Enterprise: does a workspace exist?

The token is the one Terraform itself uses: ``TF_TOKEN_<host>`` (dots as ``_``, hyphens as
``__``), else the ``terraform login`` credentials file. It is sent to that host only and
never printed.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pipeline_config.backend import terraform_token_env_var

TIMEOUT_SECONDS = 10.0


class HcpError(Exception):
    """HCP Terraform could not answer (no token, token refused, network); the message has the fix."""


def find_token(hostname: str, environ: Mapping[str, str] | None = None, home: Path | None = None) -> str | None:
    """The API token for ``hostname``: ``TF_TOKEN_<host>``, else ``~/.terraform.d/credentials.tfrc.json``."""
    environ = os.environ if environ is None else environ
    token = environ.get(terraform_token_env_var(hostname))
    if token:
        return token
    credentials = (home or Path.home()) / ".terraform.d" / "credentials.tfrc.json"
    try:
        document = json.loads(credentials.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    entry = document.get("credentials", {}).get(hostname, {}) if isinstance(document, dict) else {}
    return entry.get("token") if isinstance(entry, dict) else None


def workspace_exists(
    hostname: str,
    organization: str,
    workspace: str,
    *,
    environ: Mapping[str, str] | None = None,
    opener: Callable[..., Any] = urllib.request.urlopen,
) -> bool:
    """GET /api/v2/organizations/<org>/workspaces/<name>: True on 200, False on 404, ``HcpError`` otherwise."""
    token = find_token(hostname, environ)
    if not token:
        raise HcpError(f"no API token for {hostname}: run `terraform login {hostname}` or set {terraform_token_env_var(hostname)}")
    quoted = "/".join(urllib.parse.quote(part, safe="") for part in (organization, workspace))
    org, name = quoted.split("/")
    request = urllib.request.Request(
        f"https://{hostname}/api/v2/organizations/{org}/workspaces/{name}",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/vnd.api+json"},
    )
    try:
        with opener(request, timeout=TIMEOUT_SECONDS) as response:
            return 200 <= response.status < 300
    except urllib.error.HTTPError as error:
        if error.code == 404:
            # HCP Terraform also answers 404 for an organization the token cannot see.
            return False
        if error.code == 401:
            raise HcpError(f"{hostname} refused the token (401): run `terraform login {hostname}` again") from None
        raise HcpError(f"{hostname} answered HTTP {error.code}") from None
    except urllib.error.URLError as error:
        raise HcpError(f"cannot reach {hostname} ({error.reason})") from None
