"""The runtime's settings checked and resolved into the core's :class:`RuntimeConfig` (§6.2).

Which features a runtime advertises depends on what it was given: ``model.use`` needs a
``model_policy``, ``provisioned_credentials`` a provisioner (§9.7, §9.8). Features asked for
but not supported are left out with a warning, never advertised.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from arcp.protocol.authority import ModelPolicy
from arcp.protocol.ceilings import Ceilings
from arcp.protocol.limits import Limits
from arcp.protocol.runtime_core import SUPPORTED_FEATURES, RuntimeConfig
from arcp_gen.features import Feature

__all__ = ["runtime_config"]

log = logging.getLogger("arcp.runtime")


def runtime_config(
    name: str,
    version: str,
    *,
    features: Iterable[Feature] | None,
    model_policy: ModelPolicy | None,
    provisioned: bool,
    limits: Limits | None,
    ceilings: Ceilings | Mapping[str, Any] | None,
    **tuning: Any,
) -> RuntimeConfig:
    """Check the settings and build the config; ``tuning`` holds the numeric settings
    (resume window, heartbeat interval, buffer sizes, ``high_water``, expiry grace)."""
    supported = set(SUPPORTED_FEATURES)
    if model_policy is not None:
        if model_policy not in ("require", "allow"):
            raise ValueError("model_policy must be 'require' or 'allow'")
        supported.add(Feature.MODEL_USE)
    if provisioned:
        supported.add(Feature.PROVISIONED_CREDENTIALS)
    if tuning["high_water"] < 1:
        raise ValueError("high_water must be at least 1")
    if tuning["expiry_grace_sec"] < 0:
        raise ValueError("expiry_grace_sec must not be negative")
    if isinstance(features, str):  # never iterate a string into one-letter features
        raise TypeError("features must be a collection of feature names, not a string")
    chosen = frozenset(supported) if features is None else frozenset(Feature(f) for f in features)
    if chosen - supported:
        log.warning(
            "not advertising unsupported features: %s",
            ", ".join(sorted(f.value for f in chosen - supported)),
        )
    return RuntimeConfig(
        name=name,
        version=version,
        features=chosen & supported,
        model_policy=model_policy or "require",
        credentials=provisioned and Feature.PROVISIONED_CREDENTIALS in chosen,
        limits=limits or Limits(),
        ceilings=ceilings
        if ceilings is None or isinstance(ceilings, Ceilings)
        else Ceilings.from_mapping(ceilings),
        **tuning,
    )
