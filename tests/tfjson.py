"""Small helpers to query synthesized Terraform JSON in tests."""

from __future__ import annotations

import json
import re
from typing import Any


def resources(doc: dict, rtype: str) -> dict[str, dict]:
    """All resources of one Terraform type, by logical name."""
    return doc.get("resource", {}).get(rtype, {})


def only(doc: dict, rtype: str) -> tuple[str, dict]:
    """The single resource of a type; fails when there are zero or several."""
    found = resources(doc, rtype)
    assert len(found) == 1, f"expected exactly one {rtype}, found {sorted(found)}"
    return next(iter(found.items()))


def find(doc: dict, rtype: str, **match: Any) -> tuple[str, dict]:
    """The single resource of a type whose attributes equal ``match``."""
    hits = [(n, r) for n, r in resources(doc, rtype).items() if all(r.get(k) == v for k, v in match.items())]
    assert len(hits) == 1, f"expected one {rtype} with {match}, found {[n for n, _ in hits]}"
    return hits[0]


def ref(rtype: str, name: str, attr: str) -> str:
    """The interpolation string Terraform uses for a resource attribute."""
    return "${" + f"{rtype}.{name}.{attr}" + "}"


def data_sources(doc: dict, dtype: str) -> dict[str, dict]:
    """All data sources of one type, by logical name."""
    return doc.get("data", {}).get(dtype, {})


def policy(value: str) -> dict:
    """Parse a JSON policy document attribute (tokens stay as ${...} strings)."""
    return json.loads(value)


def refs_in(value: Any) -> set[str]:
    """Every ``type.name`` a value refers to through ${...} interpolations."""
    text = json.dumps(value)
    return set(re.findall(r"\$\{(?:data\.)?([a-z0-9_]+\.[A-Za-z0-9_-]+)", text))


def unescape_terraform(text: str) -> str:
    """Undo Terraform's ``$${``/``%%{`` escapes (what AWS finally receives)."""
    return text.replace("$${", "${").replace("%%{", "%{")


# ---------------------------------------------------------------- gateway response templates
#: What API Gateway substitutes for each variable a gateway response may use: ``messageString`` is
#: the message in quotes (AWS documents it as ``"$context.error.message"``: quoted, NOT escaped),
#: here one of API Gateway's own fixed texts; ``responseType`` is an enum; ``requestId`` a UUID.
SAFE_SUBSTITUTIONS = {
    "$context.error.messageString": '"Invalid request body"',
    "$context.error.responseType": "BAD_REQUEST_BODY",
    "$context.requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
}
#: A SigV4 INVALID_SIGNATURE message as API Gateway substitutes it into ``messageString``: the
#: canonical request, one part per line, with what the client sent (here a header value with quotes).
SIGV4_MESSAGE_STRING = (
    '"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. '
    "Consult the service documentation for details.\n\nThe Canonical String for this request should have been\n'POST\n/v1/orders\n\n"
    'content-type:application/json\nx-note:say "hi"\n'
    "\ncontent-type;x-note\n4ba...'\n\nThe String-to-Sign should have been\n'AWS4-HMAC-SHA256\n20261128T224440Z\n...'\n\""
)
#: Free text API Gateway substitutes RAW: the request validator's message, in its real format.
RAW_VALIDATION_ERROR = '[object has missing required properties (["customerId","items"])]'


def render_gateway_template(template: str, substitutions: dict) -> str:
    """A gateway response template as API Gateway fills it: plain substitution, no escaping."""
    used = set(re.findall(r"\$context(?:\.[A-Za-z]+)+", template))
    unknown = used - set(substitutions)
    assert not unknown, f"the template uses {unknown}: add its worst case here, or drop it if it is free text"
    for variable in sorted(used, key=len, reverse=True):
        template = template.replace(variable, substitutions[variable])
    return template
