"""The order pipeline on one machine: moto server + local API Gateway + SQS poller, same config as the stack.

``LocalPipeline`` is what tests and ``ordersctl`` use; ``python -m local_pipeline``
(``make local``) runs it until Ctrl-C. ``AttachedResources`` runs it on resources that
already exist in an emulator instead. See docs/local_pipeline.md for what it does and, as
importantly, what it does not emulate.
"""

from local_pipeline.attached import AttachedResources
from local_pipeline.pipeline import LocalPipeline, LocalPipelineOptions

__all__ = ["AttachedResources", "LocalPipeline", "LocalPipelineOptions"]
