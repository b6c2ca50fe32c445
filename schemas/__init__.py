"""Dataset contracts: one module per dataset, registered here.

Adding a dataset: write its contract module, add it to `_MODULES`, add its transform
and mart. Nothing else in the ingest layer changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from graphlib import TopologicalSorter
from importlib import import_module

from schemas.contract import Contract

_MODULES = (
    "vocational_enrollment",
    "childcare_sites",
    "childcare_daily",
    "childcare_volunteers",
    "health_monthly",
)

CONTRACTS: Mapping[str, Contract] = {
    name: import_module(f"schemas.{name}").CONTRACT for name in _MODULES
}


def contract_for(dataset: str) -> Contract:
    return CONTRACTS[dataset]


def processing_order() -> tuple[str, ...]:
    """Datasets in an order where registries come before the datasets that reference them."""
    graph = {name: set(contract.depends_on) for name, contract in CONTRACTS.items()}
    return tuple(TopologicalSorter(graph).static_order())
