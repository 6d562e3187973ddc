"""Finding terraform and the provider: mirrors by variable, CLI config or discovery; the registry otherwise."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from rehearsal.toolchain import (
    MIRROR_ENV_VAR,
    ToolchainError,
    choose_provider,
    configured_mirrors,
    find_terraform,
    mirror_versions,
    terraform_platform,
    write_cli_config,
)


def _mirror(root: Path, *versions: str, packed: bool = False) -> Path:
    base = root / "registry.terraform.io" / "hashicorp" / "aws"
    for version in versions:
        if packed:
            base.mkdir(parents=True, exist_ok=True)
            (base / f"terraform-provider-aws_{version}_{terraform_platform()}.zip").write_bytes(b"zip")
        else:
            folder = base / version / terraform_platform()
            folder.mkdir(parents=True)
            (folder / f"terraform-provider-aws_v{version}_x5").write_bytes(b"bin")
    return root


def _isolated(tmp_path: Path, **extra: str) -> dict[str, str]:
    # A HOME without mirrors and no CLI config: discovery can only find /opt/*/registry.terraform.io.
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"HOME": str(home), "PATH": os.environ.get("PATH", ""), "TF_CLI_CONFIG_FILE": str(tmp_path / "missing.rc"), **extra}


def test_mirror_versions_reads_unpacked_and_packed_layouts_newest_last(tmp_path):
    _mirror(tmp_path / "a", "5.9.0", "5.100.0", "5.10.0")
    _mirror(tmp_path / "b", "6.25.0", packed=True)
    assert mirror_versions(tmp_path / "a") == ["5.9.0", "5.10.0", "5.100.0"]
    assert mirror_versions(tmp_path / "b") == ["6.25.0"]
    assert mirror_versions(tmp_path / "nothing") == []


def test_explicit_mirror_wins_and_takes_the_pinned_version_when_it_has_it(tmp_path):
    mirror = _mirror(tmp_path / "m", "5.100.0", "6.25.0")
    source = choose_provider("6.25.0", _isolated(tmp_path, **{MIRROR_ENV_VAR: str(mirror)}))
    assert (source.kind, source.version, source.differs_from_pin, source.found_by) == ("mirror", "6.25.0", False, MIRROR_ENV_VAR)


def test_mirror_without_the_pin_uses_its_newest_version_and_says_so(tmp_path):
    mirror = _mirror(tmp_path / "m", "5.99.0", "5.100.0")
    source = choose_provider("6.25.0", _isolated(tmp_path, **{MIRROR_ENV_VAR: str(mirror)}))
    assert source.version == "5.100.0" and source.differs_from_pin
    assert "the stack pins 6.25.0" in source.describe()


def test_explicit_mirror_without_the_aws_provider_is_a_clear_error(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ToolchainError) as caught:
        choose_provider("6.25.0", _isolated(tmp_path, **{MIRROR_ENV_VAR: str(empty)}))
    message = str(caught.value)
    assert MIRROR_ENV_VAR in message and str(empty) in message and "registry.terraform.io/hashicorp/aws" in message
    assert "Fix:" in message and "terraform providers mirror" in message


def test_mirror_configured_in_the_cli_config_is_used(tmp_path):
    mirror = _mirror(tmp_path / "configured", "5.100.0")
    config = tmp_path / "user.rc"
    config.write_text(f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n}}\n')
    environ = _isolated(tmp_path, TF_CLI_CONFIG_FILE=str(config))
    assert configured_mirrors(environ) == [str(mirror)]
    source = choose_provider("6.25.0", environ)
    assert source.mirror == str(mirror) and source.found_by == "your Terraform CLI config"


def test_implied_mirror_in_home_is_discovered(tmp_path):
    environ = _isolated(tmp_path)
    _mirror(Path(environ["HOME"]) / ".terraform.d" / "plugins", "5.100.0")
    source = choose_provider("6.25.0", environ)
    assert source.kind == "mirror" and source.mirror == str(Path(environ["HOME"]) / ".terraform.d" / "plugins")


def test_without_any_mirror_the_registry_at_the_pinned_version(tmp_path, monkeypatch):
    monkeypatch.setattr("rehearsal.toolchain.glob.glob", lambda pattern: [])  # hide this machine's /opt mirror
    source = choose_provider("6.25.0", _isolated(tmp_path))
    assert (source.kind, source.version, source.differs_from_pin) == ("registry", "6.25.0", False)
    assert write_cli_config(source, tmp_path) is None


def test_cli_config_takes_only_aws_from_the_mirror(tmp_path):
    mirror = _mirror(tmp_path / "m", "5.100.0")
    source = choose_provider("6.25.0", _isolated(tmp_path, **{MIRROR_ENV_VAR: str(mirror)}))
    config = write_cli_config(source, tmp_path)
    assert config is not None, f"a mirror source writes a CLI config: {source}"
    text = config.read_text()
    assert f'path    = "{mirror}"' in text and 'exclude = ["registry.terraform.io/hashicorp/aws"]' in text


def test_missing_terraform_names_what_is_missing_and_how_to_get_it(tmp_path):
    with pytest.raises(ToolchainError) as caught:
        find_terraform({"PATH": str(tmp_path)})
    assert "terraform is not on PATH" in str(caught.value) and "Fix: install Terraform >= 1.10" in str(caught.value)
    with pytest.raises(ToolchainError) as caught:
        find_terraform({"PATH": "", "TERRAFORM": str(tmp_path / "nope")})
    assert "TERRAFORM=" in str(caught.value) and "not an executable file" in str(caught.value)


def test_too_old_terraform_is_refused(tmp_path):
    fake = tmp_path / "terraform"
    fake.write_text('#!/bin/sh\necho \'{"terraform_version": "1.5.7"}\'\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    with pytest.raises(ToolchainError, match=r"Terraform 1\.5\.7; the rehearsal needs >= 1\.10"):
        find_terraform({"PATH": str(tmp_path)})
