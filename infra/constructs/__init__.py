"""Reusable CDK constructs that turn the service manifests (services/*/manifest.py) into AWS resources."""

from infra.constructs.api import CxmHttpApi
from infra.constructs.function import ServiceFunction
from infra.constructs.registry import Registry, cxm_id
from infra.constructs.service import ServiceConstruct

__all__ = ["CxmHttpApi", "Registry", "ServiceConstruct", "ServiceFunction", "cxm_id"]
