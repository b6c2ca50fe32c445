"""Dataset contracts: one module per dataset, found here by looking.

Every module of this package that defines `CONTRACT` is a dataset. Adding a dataset:
write its contract module, its transform and its mart. Nothing else in the ingest layer
changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from graphlib import TopologicalSorter
from importlib import import_module
from pkgutil import iter_modules

from schemas.contract import Contract

_VOCABULARY = frozenset({"checks", "contract", "lookups", "pandera"})
"""The modules that say how contracts are written and used, not datasets: never imported
by discovery (`schemas.pandera` would pull in Pandera and pandas, seconds of start-up, for
every command and every run that validates nothing)."""


def _discover_contracts() -> dict[str, Contract]:
    contracts: dict[str, Contract] = {}
    for module_info in sorted(iter_modules(__path__), key=lambda info: info.name):
        if module_info.name.startswith("_") or module_info.name in _VOCABULARY:
            continue
        contract = getattr(import_module(f"{__name__}.{module_info.name}"), "CONTRACT", None)
        if isinstance(contract, Contract):
            if contract.dataset != module_info.name:
                raise ValueError(f"schemas/{module_info.name}.py declares dataset {contract.dataset!r}")
            contracts[contract.dataset] = contract
    return contracts


CONTRACTS: Mapping[str, Contract] = _discover_contracts()


def contract_for(dataset: str) -> Contract:
    return CONTRACTS[dataset]


def processing_order() -> tuple[str, ...]:
    """Datasets in an order where registries come before the datasets that reference them."""
    graph = {name: set(contract.depends_on) for name, contract in CONTRACTS.items()}
    return tuple(TopologicalSorter(graph).static_order())
