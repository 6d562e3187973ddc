"""One construct per concern of the order pipeline; ``stacks/`` composes them.

Framework imports live in ``constructs_lib.framework`` and provider imports in
``constructs_lib.provider``; nothing else imports cdktf, constructs or the provider.
"""
