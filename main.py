#!/usr/bin/env python
"""CDKTF app: one ``OrderPipelineStack`` per configured environment.

``ENVIRONMENT_SUFFIX`` (or cdktf context ``environmentSuffix``) picks a single
environment; otherwise every environment in ``pipeline_config.environments`` is
synthesized into ``cdktf.out/stacks/orders-<suffix>/cdk.tf.json``.
"""

from __future__ import annotations

import sys

from pipeline_config import ConfigError
from pipeline_config.environments import OVERRIDES_CONTEXT_KEY, SUFFIX_CONTEXT_KEY, load_configs


def build_app(outdir: str | None = None, environ=None):
    """Build the app with every selected stack (not yet synthesized)."""
    from constructs_lib.framework import App
    from stacks.order_pipeline_stack import OrderPipelineStack

    app = App(outdir=outdir) if outdir else App()
    context = {key: app.node.try_get_context(key) for key in (SUFFIX_CONTEXT_KEY, OVERRIDES_CONTEXT_KEY)}
    configs = load_configs(environ, {k: v for k, v in context.items() if v is not None})
    for config in configs:
        OrderPipelineStack(app, config.names.stack, config=config, environ=environ)
    return app


def main() -> int:
    """Synthesize, or exit 2 with every configuration problem listed."""
    try:
        app = build_app()
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    app.synth()
    stacks = ", ".join(sorted(child.node.id for child in app.node.children))
    print(f"Synthesized {stacks} into {app.outdir}/stacks/<stack>/cdk.tf.json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
