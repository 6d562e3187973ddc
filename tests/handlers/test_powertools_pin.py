"""The tests run the Powertools release that the pinned Lambda layer carries, not whatever PyPI had last."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

from pipeline_config import PipelineConfig

ROOT = Path(__file__).resolve().parents[2]
# Public layer AWSLambdaPowertoolsPythonV3-python312-x86_64:<version> -> the Powertools release it
# was built from. Source (also cited in the Pipfile): aws-powertools/powertools-lambda-python
# #7757 made ":27" the documented current layer during the 3.23.1 pre-releases (the
# CHANGELOG in #7863 lists it there), and #8438 documents Python 3.9, dropped after 3.23.0,
# as "ending at layer version 27". Add a row when the stack's default layer moves.
POWERTOOLS_RELEASE_BY_LAYER = {27: "3.23.0"}


def test_the_locked_powertools_is_the_release_inside_the_pinned_layer():
    layer = PipelineConfig().powertools_layer_version
    assert layer in POWERTOOLS_RELEASE_BY_LAYER, (
        f"powertools_layer_version default is {layer}, whose Powertools release is not recorded here. "
        "Fix: find the release that published it (Powertools docs/CHANGELOG, 'update layer version' PRs), "
        "add it to POWERTOOLS_RELEASE_BY_LAYER and pin aws-lambda-powertools to it in the Pipfile, then relock"
    )
    locked = json.loads((ROOT / "Pipfile.lock").read_text())["develop"]["aws-lambda-powertools"]["version"]
    assert locked == f"=={POWERTOOLS_RELEASE_BY_LAYER[layer]}", f"Pipfile.lock has aws-lambda-powertools {locked}; layer {layer} carries {POWERTOOLS_RELEASE_BY_LAYER[layer]}"


def test_the_installed_powertools_is_the_locked_one():
    # A stale .venv would test another release than the lock names. Fix: make env (re-syncs).
    locked = json.loads((ROOT / "Pipfile.lock").read_text())["develop"]["aws-lambda-powertools"]["version"]
    assert f"=={importlib.metadata.version('aws-lambda-powertools')}" == locked
