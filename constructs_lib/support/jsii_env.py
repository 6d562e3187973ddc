"""Environment for the jsii kernel (the node process behind the framework's Python bindings).

``framework.py`` and ``provider.py`` both call ``prepare_jsii_environment`` before their
first jsii import, so the kernel gets it whichever of them is imported first. It is kept
apart from them so that tools which time the framework's own import phases (bench/) can
prepare the same environment before importing anything of jsii.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

#: The Node.js half of the lean provider import; see its header and constructs_lib/support/provider.py.
NODE_LAZY_INDEX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node_lazy_provider_index.js")
EAGER_ENV_VAR = "CDKTF_EAGER_PROVIDER_IMPORT"

# jsii prints a large banner on Node versions it has end-of-lifed (20) or not yet tested
# (22+). It is noise in synth output and CI logs, never actionable here. setdefault: a user
# who wants the banner back sets the variable to an empty value.
_SILENCED_BANNERS = (
    ("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20"),
    ("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1"),
    ("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1"),
)


def lean_import_enabled(environ: MutableMapping[str, str] | None = None) -> bool:
    """False when ``CDKTF_EAGER_PROVIDER_IMPORT`` asks for the stock (eager) provider import."""
    environ = os.environ if environ is None else environ
    return environ.get(EAGER_ENV_VAR, "").strip() in ("", "0")


def prepare_jsii_environment(environ: MutableMapping[str, str] | None = None) -> None:
    """Silence jsii's Node banners and load the lazy provider index into its node process."""
    environ = os.environ if environ is None else environ
    for name, value in _SILENCED_BANNERS:
        environ.setdefault(name, value)
    # Node splits NODE_OPTIONS on spaces unless quoted.
    require = f'--require "{NODE_LAZY_INDEX}"' if " " in NODE_LAZY_INDEX else f"--require {NODE_LAZY_INDEX}"
    current = environ.get("NODE_OPTIONS", "")
    if lean_import_enabled(environ) and os.path.isfile(NODE_LAZY_INDEX):
        if require not in current:
            environ["NODE_OPTIONS"] = f"{current} {require}".strip()
    elif require in current:
        # Inherited from a parent that runs lean (e.g. a test or bench process): the off switch
        # must mean the stock path, so take our hook out again.
        remaining = " ".join(current.replace(require, " ").split())
        if remaining:
            environ["NODE_OPTIONS"] = remaining
        else:
            environ.pop("NODE_OPTIONS", None)
