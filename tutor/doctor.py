"""Gather the facts ``dnn-tutor doctor`` reports: versions, device, folders, data, database.

Returns a :class:`Report`; never prints. Importing torch here is expected
(doctor is where a learner checks that the heavy parts work).
"""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass, field
from importlib import metadata

from tutor import __version__, paths

PACKAGES = ("torch", "torchvision", "numpy", "typer", "rich", "questionary", "platformdirs", "fsrs", "matplotlib", "plotext", "scikit-learn")


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Report:
    versions: dict[str, str]
    device: dict
    folders: dict[str, str]
    datasets: dict[str, str]
    database: dict
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "versions": self.versions,
            "device": self.device,
            "folders": self.folders,
            "datasets": self.datasets,
            "database": self.database,
            "checks": [c.__dict__ for c in self.checks],
        }


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def mnist_status() -> str:
    """Which MNIST files the demos' dataset cache holds."""
    from tutor.training.data import find_mnist_files, mnist_cache_dir

    folder = mnist_cache_dir()
    found = find_mnist_files(folder)
    if len(found) == 4:
        return f"complete in {folder}"
    if found:
        return f"partial ({len(found)}/4 files) in {folder}"
    return "not downloaded (dnn-tutor data download mnist; offline, demos use scikit-learn's 8x8 digits)"


def gather(requested_device: str | None = None) -> Report:
    from tutor.errors import TutorError
    from tutor.store import Store

    versions = {"dnn-tutor": __version__, "python": f"{platform.python_version()} ({sys.executable})"}
    versions.update({name: _version(name) for name in PACKAGES})
    checks: list[Check] = []

    try:
        import torchvision  # noqa: F401  (import check: torch and torchvision must be a matching pair)

        checks.append(Check("torch/torchvision import", True, "ok"))
    except Exception as exc:  # a mismatched pair fails here, with many possible errors
        checks.append(Check("torch/torchvision import", False, f"{type(exc).__name__}: {exc}"))

    try:
        from tutor.device import pick_device

        choice = pick_device(requested_device)
        device = {"name": choice.name, "torch": choice.torch_name, "reason": choice.reason, **choice.detail}
        checks.append(Check("device", True, f"{choice.label}: {choice.reason}"))
    except TutorError as exc:
        if requested_device:
            raise  # an explicit request that cannot be met is a usage error (exit 2)
        device = {"name": "unavailable", "reason": exc.message}
        checks.append(Check("device", False, exc.message))
    except ImportError as exc:
        device = {"name": "unavailable", "reason": f"torch is not importable: {exc}"}
        checks.append(Check("device", False, device["reason"]))

    home = paths.home_dir()
    cache = paths.cache_dir()
    folders = {
        "learner data": str(home),
        "cache": str(cache),
        "lessons": str(paths.lessons_dir()),
        "exercises (starters)": str(paths.exercises_dir()),
        "data": str(paths.data_dir()),
    }
    datasets = {"mnist": mnist_status()}

    with Store() as store:
        health = store.health()
        warnings = list(store.warnings)
    database = {
        "path": str(health.path),
        "size_bytes": health.size_bytes,
        "schema_version": health.schema_version,
        "expected_version": health.expected_version,
        "integrity": health.integrity,
        "journal_mode": health.journal_mode,
        "rows": health.counts,
        "warnings": warnings,
    }
    db_ok = health.integrity == "ok" and health.schema_version == health.expected_version
    checks.append(Check("progress database", db_ok, f"integrity {health.integrity}, schema v{health.schema_version}, {health.journal_mode} mode"))
    lessons_ok = paths.lessons_dir().is_dir()
    checks.append(Check("lessons folder", lessons_ok, folders["lessons"]))
    return Report(versions, device, folders, datasets, database, checks)
