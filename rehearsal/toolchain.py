"""Terraform and the AWS provider: find them, say which version runs, and write a CLI config for a mirror.

Provider source, in order:
1. ``TF_PROVIDER_MIRROR``: a filesystem mirror directory (the folder that holds
   ``registry.terraform.io/``); it must hold ``hashicorp/aws`` for this platform.
2. A ``filesystem_mirror`` configured in the user's Terraform CLI config
   (``TF_CLI_CONFIG_FILE``, else ``~/.terraformrc``).
3. A mirror found in Terraform's implied local mirror folders, or one level under ``/opt``.
4. Otherwise the Terraform registry, at the version the stack pins.

With a mirror, the newest ``hashicorp/aws`` version it holds is used; when that is not the
pinned one, the rehearsal says so and constrains the working copy to it.

Every ``terraform init`` shares one plugin cache (``plugin_cache_dir``): from a registry the
provider is downloaded once, from an unpacked mirror it is linked instead of copied (700 MB per
working copy otherwise). Terraform does not make the cache safe for concurrent inits, so
``cache_lock`` serializes them across processes.
"""

from __future__ import annotations

import fcntl
import glob
import json
import os
import platform
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

MIRROR_ENV_VAR = "TF_PROVIDER_MIRROR"
PLUGIN_CACHE_ENV_VAR = "TF_PLUGIN_CACHE_DIR"
TERRAFORM_ENV_VAR = "TERRAFORM"
PROVIDER_HOST = "registry.terraform.io"
PROVIDER_NAMESPACE = "hashicorp"
PROVIDER_TYPE = "aws"
PROVIDER_ADDRESS = f"{PROVIDER_HOST}/{PROVIDER_NAMESPACE}/{PROVIDER_TYPE}"
#: The oldest Terraform the rehearsal (and the S3 backend's lock file) is tested with.
MIN_TERRAFORM = (1, 10)

INSTALL_TERRAFORM_HINT = "install Terraform >= 1.10 (https://developer.hashicorp.com/terraform/install, or your package manager) and put it on PATH, or point TERRAFORM at the binary"


class ToolchainError(RuntimeError):
    """Terraform or the provider is missing or unusable; the message says what and how to fix it."""


@dataclass(frozen=True)
class Terraform:
    """The terraform binary the rehearsal runs."""

    path: str
    version: str


@dataclass(frozen=True)
class ProviderSource:
    """Where ``terraform init`` takes hashicorp/aws from."""

    kind: str
    """``"mirror"`` or ``"registry"``."""
    version: str
    """The provider version the rehearsal runs (the pinned one when taken from the registry)."""
    pinned_version: str
    """The version the synthesized stack pins."""
    mirror: str | None = None
    """The mirror directory (``kind == "mirror"``)."""
    found_by: str = ""
    """How the mirror was chosen (environment variable, CLI config, discovery)."""

    @property
    def differs_from_pin(self) -> bool:
        """True when the rehearsal runs another provider version than the stack pins."""
        return self.version != self.pinned_version

    def describe(self) -> str:
        """One line for the rehearsal's output."""
        if self.kind == "registry":
            return f"hashicorp/aws {self.version} from the Terraform registry (the stack's pin)"
        note = "" if not self.differs_from_pin else f"; the stack pins {self.pinned_version}, which this mirror does not hold"
        return f"hashicorp/aws {self.version} from the filesystem mirror {self.mirror} ({self.found_by}){note}"


def find_terraform(environ: Mapping[str, str] | None = None) -> Terraform:
    """The terraform binary (``TERRAFORM``, else PATH) and its version; ToolchainError when missing or too old."""
    environ = os.environ if environ is None else environ
    explicit = environ.get(TERRAFORM_ENV_VAR, "").strip()
    path = explicit or shutil.which("terraform", path=environ.get("PATH"))
    if not path or not os.access(path, os.X_OK):
        where = f"TERRAFORM={explicit!r} is not an executable file" if explicit else "terraform is not on PATH"
        raise ToolchainError(f"{where}. Fix: {INSTALL_TERRAFORM_HINT}.")
    try:
        out = subprocess.run([path, "version", "-json"], capture_output=True, text=True, timeout=60, env=_quiet_env(environ))
        version = json.loads(out.stdout)["terraform_version"]
    except (OSError, ValueError, KeyError, subprocess.SubprocessError) as error:
        raise ToolchainError(f"{path} did not report its version ({error}). Fix: {INSTALL_TERRAFORM_HINT}.") from error
    if _version_tuple(version)[:2] < MIN_TERRAFORM:
        raise ToolchainError(f"{path} is Terraform {version}; the rehearsal needs >= {'.'.join(map(str, MIN_TERRAFORM))}. Fix: {INSTALL_TERRAFORM_HINT}.")
    return Terraform(path=path, version=version)


def terraform_platform() -> str:
    """Terraform's name for this platform, e.g. ``linux_amd64``."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"{platform.system().lower()}_{arch}"


def mirror_versions(mirror: str | os.PathLike[str], plat: str | None = None) -> list[str]:
    """Versions of hashicorp/aws a mirror holds for this platform (unpacked or packed layout), oldest first."""
    plat = plat or terraform_platform()
    base = Path(mirror) / PROVIDER_HOST / PROVIDER_NAMESPACE / PROVIDER_TYPE
    if not base.is_dir():
        return []
    versions = set()
    for entry in base.iterdir():
        if entry.is_dir() and (entry / plat).is_dir() and any((entry / plat).glob("terraform-provider-aws*")):
            versions.add(entry.name)  # unpacked: <version>/<platform>/terraform-provider-aws_v...
        match = re.fullmatch(rf"terraform-provider-aws_(.+)_{re.escape(plat)}\.zip", entry.name)
        if match and entry.is_file():
            versions.add(match.group(1))  # packed: terraform-provider-aws_<version>_<platform>.zip
    return sorted(versions, key=_version_tuple)


def configured_mirrors(environ: Mapping[str, str] | None = None) -> list[str]:
    """``filesystem_mirror`` paths in the user's Terraform CLI config, if it has any."""
    environ = os.environ if environ is None else environ
    config = environ.get("TF_CLI_CONFIG_FILE") or os.path.join(environ.get("HOME", os.path.expanduser("~")), ".terraformrc")
    try:
        text = Path(config).read_text(encoding="utf-8")
    except OSError:
        return []
    return re.findall(r'filesystem_mirror\s*\{[^}]*?\bpath\s*=\s*"([^"]+)"', text, flags=re.S)


def discovered_mirrors(environ: Mapping[str, str] | None = None) -> list[str]:
    """Terraform's implied local mirror folders (Linux/macOS), then ``/opt/*`` folders holding a registry tree."""
    environ = os.environ if environ is None else environ
    home = environ.get("HOME", os.path.expanduser("~"))
    data_home = environ.get("XDG_DATA_HOME") or os.path.join(home, ".local", "share")
    candidates = [
        os.path.join(home, ".terraform.d", "plugins"),
        os.path.join(data_home, "terraform", "plugins"),
        "/usr/local/share/terraform/plugins",
        "/usr/share/terraform/plugins",
        *sorted(os.path.dirname(p) for p in glob.glob(f"/opt/*/{PROVIDER_HOST}")),
    ]
    return [c for c in candidates if os.path.isdir(os.path.join(c, PROVIDER_HOST))]


def choose_provider(pinned_version: str, environ: Mapping[str, str] | None = None) -> ProviderSource:
    """Where init takes the provider from (see the module docstring for the order)."""
    environ = os.environ if environ is None else environ
    explicit = environ.get(MIRROR_ENV_VAR, "").strip()
    if explicit:
        versions = mirror_versions(explicit)
        if not versions:
            raise ToolchainError(
                f"{MIRROR_ENV_VAR}={explicit!r} holds no {PROVIDER_ADDRESS} provider for {terraform_platform()} "
                f"(expected {explicit}/{PROVIDER_HOST}/{PROVIDER_NAMESPACE}/{PROVIDER_TYPE}/<version>/{terraform_platform()}/terraform-provider-aws_*). "
                f"Fix: point {MIRROR_ENV_VAR} at the folder that holds registry.terraform.io/ "
                "(fill one with `terraform providers mirror <dir>` on a machine with registry access), or unset it to use the registry."
            )
        return _mirror_source(explicit, versions, pinned_version, f"{MIRROR_ENV_VAR}")
    for found_by, mirrors in (("your Terraform CLI config", configured_mirrors(environ)), ("found on this machine", discovered_mirrors(environ))):
        for mirror in mirrors:
            versions = mirror_versions(mirror)
            if versions:
                return _mirror_source(mirror, versions, pinned_version, found_by)
    return ProviderSource(kind="registry", version=pinned_version, pinned_version=pinned_version)


def _mirror_source(mirror: str, versions: list[str], pinned_version: str, found_by: str) -> ProviderSource:
    version = pinned_version if pinned_version in versions else versions[-1]
    return ProviderSource(kind="mirror", version=version, pinned_version=pinned_version, mirror=os.path.abspath(mirror), found_by=found_by)


def plugin_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The plugin cache every rehearsal shares: ``TF_PLUGIN_CACHE_DIR``, else ``<XDG cache>/order-pipeline/terraform-plugins`` (created)."""
    environ = os.environ if environ is None else environ
    explicit = environ.get(PLUGIN_CACHE_ENV_VAR, "").strip()
    home = environ.get("HOME", os.path.expanduser("~"))
    path = Path(explicit) if explicit else Path(environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")) / "order-pipeline" / "terraform-plugins"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def cache_lock(cache_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the plugin cache (one ``terraform init`` at a time, across processes)."""
    with open(cache_dir / ".rehearsal.lock", "w", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_cli_config(source: ProviderSource, directory: Path) -> Path | None:
    """A Terraform CLI config that takes hashicorp/aws from the mirror only (None for the registry)."""
    if source.kind != "mirror":
        return None
    path = directory / "terraform.rc"
    path.write_text(
        "# Written by the deploy rehearsal: hashicorp/aws from the mirror, nothing from the network.\n"
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {json.dumps(source.mirror)}\n"
        f'    include = ["{PROVIDER_ADDRESS}"]\n'
        "  }\n"
        "  direct {\n"
        f'    exclude = ["{PROVIDER_ADDRESS}"]\n'
        "  }\n"
        "}\n",
        encoding="utf-8",
    )
    return path


def _quiet_env(environ: Mapping[str, str]) -> dict[str, str]:
    env = dict(environ)
    env.setdefault("CHECKPOINT_DISABLE", "1")
    config = env.get("TF_CLI_CONFIG_FILE")
    if config and not os.path.exists(config):
        # A config file that does not exist makes every terraform command print a warning.
        env.pop("TF_CLI_CONFIG_FILE")
    return env


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version.split("-")[0])[:3]) or (0,)
