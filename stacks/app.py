"""``build_app``: the CDKTF app with every selected stack, for ``main.py`` and whatever renders from a synth.

It lives below ``main`` so that a renderer (``tools/security_table.py``), a benchmark or a test
builds the same app without importing the entry point: imports only go down. The framework is
imported inside the function, so importing this module does not start jsii.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from pipeline_config.context import read_context
from pipeline_config.selection import Selection, select_stacks


def build_app(outdir: str | None = None, environ: Mapping[str, str] | None = None, selection: Selection | None = None):
    """Build the app with every selected stack (not yet synthesized); ``ConfigError`` on a bad configuration."""
    from constructs_lib.support.framework import App
    from stacks.account_stack import ApiGatewayAccountStack
    from stacks.order_pipeline_stack import OrderPipelineStack

    environ = os.environ if environ is None else environ
    if selection is None:
        selection = select_stacks(environ, read_context(environ))
    app = App(outdir=outdir) if outdir else App()
    # Stacks get resolved values only: the backend was read and validated with the rest (selection).
    for config in selection.environments:
        OrderPipelineStack(app, config.names.stack, config=config, backend=selection.backend)
    for account in selection.account_stacks:
        ApiGatewayAccountStack(app, account.stack_name, config=account, backend=selection.backend)
    return app
