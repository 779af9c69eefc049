"""Powertools logger, tracer and metrics, one set per service; JSON logs with the correlation id."""

from __future__ import annotations

import warnings
from functools import cache

from aws_lambda_powertools import Logger, Metrics, Tracer

NAMESPACE = "CxM"
# A function that published no metric this invocation is normal here, not worth a warning per call.
warnings.filterwarnings("ignore", message="No application metrics to publish")


@cache
def logger(service: str) -> Logger:
    return Logger(service=service)


@cache
def tracer(service: str) -> Tracer:
    return Tracer(service=service)


@cache
def metrics(service: str) -> Metrics:
    return Metrics(namespace=NAMESPACE, service=service)
