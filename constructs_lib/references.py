"""What a construct needs of another construct it takes as a prop (the object, never its ARN string).

A prop typed with one of these protocols takes the construct itself (``EncryptionKey``,
``EncryptedTopic``, ``PythonFunction``); the taking construct reads ``.key_arn``,
``.topic_arn`` or ``.invoke_arn`` inside. Protocols, not the classes, so a construct does not
import every other one and a test can build one construct alone with a small stand-in.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pipeline_config.errors import ConfigProblem


@runtime_checkable
class KeyReference(Protocol):
    """A KMS key construct (``EncryptionKey``)."""

    key_arn: str


@runtime_checkable
class TopicReference(Protocol):
    """An SNS topic construct (``EncryptedTopic``)."""

    topic_arn: str


@runtime_checkable
class FunctionReference(Protocol):
    """A Lambda function construct (``PythonFunction``)."""

    function_name: str
    invoke_arn: str


def check_reference(problems: list[ConfigProblem], props: object, setting: str, kind: type, construct: str, *, required: bool, fix: str) -> None:
    """Append a problem unless ``props.<setting>`` is a ``construct`` (``kind``), or ``None`` where that is allowed.

    An ARN string is named as such: the props used to take ARNs, and the fix is to pass the object.
    """
    value = getattr(props, setting)
    if value is None:
        if required:
            problems.append(ConfigProblem(setting, value, f"is required (a {construct})", fix))
        return
    if not isinstance(value, kind):
        shown = "an ARN string" if isinstance(value, str) else f"a {type(value).__name__}"
        problems.append(ConfigProblem(setting, value, f"must be a {construct} construct, not {shown}", fix))
