"""The rehearsal's own AWS emulator: the patched moto server (``rehearsal.moto_server``) in a child process on a free loopback port."""

from __future__ import annotations

import importlib
import io
import zipfile
from pathlib import Path

from local_pipeline.emulator import FAKE_CREDENTIALS, MotoEmulator
from rehearsal.moto_server import MANAGED_POLICIES_ENV

#: The provider's credentials in the working copy: the same fake keys the local pipeline uses.
FAKE_ACCESS_KEY = FAKE_CREDENTIALS["aws_access_key_id"]
FAKE_SECRET_KEY = FAKE_CREDENTIALS["aws_secret_access_key"]
#: The account moto answers for (sts:GetCallerIdentity).
MOTO_ACCOUNT_ID = "123456789012"
#: Packages of the public Powertools layer that the handlers import (the layer carries them; boto3
#: is the runtime's). The stand-in layer is zipped from the locked versions in this environment.
LAYER_PACKAGES = ("aws_lambda_powertools", "aws_xray_sdk", "fastjsonschema", "wrapt")


class EmulatorError(RuntimeError):
    """The emulator could not start; the message says why and what to do."""


class RehearsalEmulator(MotoEmulator):
    """The local pipeline's moto child process, running ``rehearsal.moto_server`` (the patched moto)."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port, server_module="rehearsal.moto_server", extra_env=MANAGED_POLICIES_ENV)

    def start(self, timeout_seconds: float = 60.0) -> None:
        """Start and wait until it answers; EmulatorError (with the fix) on a busy port or a failed start."""
        try:
            self._start_process(timeout_seconds)
        except RuntimeError as error:
            message = str(error).replace("choose another port (0 picks a free one)", "leave --moto-port out to pick a free port")
            raise EmulatorError(message) from error

    def publish_layer(self, layer_name: str, region: str) -> tuple[str, str]:
        """Publish the stand-in Powertools layer under the public layer's name; (version ARN, what it holds)."""
        content, versions = stand_in_layer_zip()
        response = self.client("lambda", region).publish_layer_version(
            LayerName=layer_name,
            Description="Deploy rehearsal stand-in for the public Powertools layer: " + ", ".join(versions),
            Content={"ZipFile": content},
            CompatibleRuntimes=["python3.12"],
        )
        return response["LayerVersionArn"], ", ".join(versions)


def stand_in_layer_zip() -> tuple[bytes, list[str]]:
    """A Lambda layer zip (``python/<package>/...``) of LAYER_PACKAGES as installed here, and their versions."""
    from importlib import metadata

    buffer = io.BytesIO()
    versions = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for package in LAYER_PACKAGES:
            module = importlib.import_module(package)
            if module.__file__ is None:
                raise EmulatorError(f"cannot put {package} into the stand-in layer: it has no source file here (a namespace package); install it as a regular package")
            source = Path(module.__file__).resolve()
            root = source.parent if source.name == "__init__.py" else source
            files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
            for path in files:
                archive.write(path, "python/" + path.relative_to(root.parent).as_posix())
            distribution = package.replace("_", "-") if package != "aws_lambda_powertools" else "aws-lambda-powertools"
            try:
                versions.append(f"{distribution} {metadata.version(distribution)}")
            except metadata.PackageNotFoundError:
                versions.append(package)
    return buffer.getvalue(), versions
