"""One construct per concern of the order pipeline; ``stacks/`` composes them.

Framework imports live in ``constructs_lib.support.framework`` and provider imports in
``constructs_lib.support.provider``; nothing else imports cdktf, constructs or the provider.
"""
