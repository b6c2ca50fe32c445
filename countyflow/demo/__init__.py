"""Deterministic demo landing zone: all 11 counties, every dataset, written like real submissions.

`write_demo_landing(landing)` writes it; `build_demo_frames()` gives the canonical rows behind
it without writing anything; `countyflow.demo.targets` states the figures (SPEC §8) those rows
reproduce. Pipeline code never imports this package's targets: it computes the figures.
"""

from countyflow.demo.generate import (
    DEFAULT_SEED,
    DemoFile,
    DemoManifest,
    DemoSubmission,
    LifecycleCase,
    build_demo_frames,
    demo_targets,
    iter_demo_submissions,
    plan_demo_submissions,
    write_demo_landing,
    write_submissions,
)
from countyflow.demo.targets import DEMO_TARGETS, DemoTargets

__all__ = [
    "DEFAULT_SEED",
    "DEMO_TARGETS",
    "DemoFile",
    "DemoManifest",
    "DemoSubmission",
    "DemoTargets",
    "LifecycleCase",
    "build_demo_frames",
    "demo_targets",
    "iter_demo_submissions",
    "plan_demo_submissions",
    "write_demo_landing",
    "write_submissions",
]
