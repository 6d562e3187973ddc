"""What the constructs stand on, not constructs themselves: the framework and provider imports, jsii's start-up, the Lambda package.

``framework`` is the only module that imports cdktf/cdktn and constructs, ``provider`` the only one
that imports the AWS provider bindings (``framework_choice`` picks the framework, ``jsii_env`` and
``node_lazy_provider_index.js`` make the provider import lean); ``lambda_package`` and ``bytecode``
stage, compile and zip the handlers into the functions' asset.
"""
