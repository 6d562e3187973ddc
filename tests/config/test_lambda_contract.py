"""The Lambda package's contract as the infrastructure reads it (``pipeline_config.lambda_contract``) is the package's own.

The package ships alone and cannot import pipeline_config, so its names are copied there; each copy
is tied to its source here (tests may import both).
"""

from __future__ import annotations

import dataclasses

import pytest

from handlers.orders_core import routes as package_routes, settings as package_settings
from pipeline_config import lambda_contract
from pipeline_config.lambda_contract import ApiRoute, read_routes


@pytest.mark.parametrize(
    "name",
    [
        "ENV_VARS",
        "SERVICE_NAME_VAR",
        "METRICS_NAMESPACE_VAR",
        "METRICS_NAMESPACE",
        "LOG_LEVEL_VARS",
        "API_SERVICE_NAME",
        "PROCESSOR_SERVICE_NAME",
        "EVENT_SWEEPER_SERVICE_NAME",
        "EVENT_SWEEP_MIN_AGE_VAR",
    ],
)
def test_every_name_is_the_packages(name):
    """Each copied name equals ``orders_core.settings``'s."""
    assert getattr(lambda_contract, name) == getattr(package_settings, name)


def test_the_function_environment_is_the_packages():
    """The stack's variables are exactly those the package's ``function_environment`` (and ``Settings``) produce."""
    resources = {"orders_table_name": "t", "order_queue_url": "q", "order_topic_arn": "arn:aws:sns:us-east-1:1:x"}
    ours = lambda_contract.function_environment(**resources, service_name="svc", log_level="debug", metrics_namespace="OrderPipeline/dev", extra={"X": "1"})
    theirs = package_settings.function_environment(package_settings.Settings(**resources), service_name="svc", log_level="debug", metrics_namespace="OrderPipeline/dev", extra={"X": "1"})
    assert ours == theirs
    assert package_settings.Settings.from_environ(ours) == package_settings.Settings(**resources)


def test_the_routes_the_api_builds_are_the_routers():
    """Same file, same routes: id, method, path, body validation, parameters and ARN path of each."""
    ours = read_routes()
    assert lambda_contract.ROUTES_FILE == package_routes.ROUTES_FILE
    assert [(r.id, r.http_method, r.path, r.validate_body, r.path_parameters, r.source_arn_path) for r in ours] == [
        (r.id, r.http_method, r.path, r.validate_body, r.path_parameters, r.source_arn_path) for r in package_routes.ROUTES
    ]
    assert {f.name for f in dataclasses.fields(ApiRoute)} <= {f.name for f in dataclasses.fields(package_routes.Route)}


@pytest.mark.parametrize(
    "path",
    ["/orders", "/orders/o-1", "/orders/", "/orders/o-1/x", "/customers/c-7/orders", "/customers//orders", "/customers/c-7", "/", "/nope", "/orders/a%2Fb"],
)
def test_the_local_api_matches_a_path_as_the_router_does(path):
    """``ApiRoute.match`` (the local pipeline's API Gateway) is a copy of ``Route.match`` (the handler's router): same answer for every route."""
    segments = path.strip("/").split("/") if path.strip("/") else []
    segments = segments if path.rstrip("/") == path or path == "/" else [*segments, ""]
    for ours, theirs in zip(read_routes(), package_routes.ROUTES, strict=True):
        assert ours.match(segments) == theirs.match(segments), (path, ours.path)
