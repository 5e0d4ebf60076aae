"""Gather the facts ``dnn-tutor doctor`` reports: versions, device, folders, data, database.

Returns a :class:`Report`; never prints. Importing torch here is expected
(doctor is where a learner checks that the heavy parts work).
"""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from tutor import __version__, paths

PACKAGES = ("torch", "torchvision", "numpy", "typer", "rich", "questionary", "platformdirs", "fsrs", "matplotlib", "scikit-learn")


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
    workspace: str | None = None  # the exercises folder `dnn-tutor init` made last (None: none yet)

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
            "workspace": self.workspace,
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


def torch_build() -> str:
    """Which accelerator this PyTorch was built for: ``CUDA 12.4``, ``ROCm 6.2``, ``Apple Metal (MPS)`` or
    ``CPU only`` (a CPU-only build never uses a GPU, whatever the machine has)."""
    try:
        import torch
    except ImportError as exc:
        return f"not importable ({exc})"
    version = getattr(torch, "version", None)
    if getattr(version, "cuda", None):
        return f"CUDA {version.cuda}"  # type: ignore[union-attr]
    if getattr(version, "hip", None):
        return f"ROCm {version.hip}"  # type: ignore[union-attr]
    mps = getattr(torch.backends, "mps", None)
    try:
        if mps is not None and mps.is_built():
            return "Apple Metal (MPS)"
    except Exception:  # noqa: BLE001 - a probe; a build without it is CPU only
        pass
    return "CPU only"


def workspace_folder() -> str | None:
    """The exercises folder ``dnn-tutor init`` made most recently that is still there (None: none yet)."""
    from tutor.grading.workspace import remembered

    found = remembered()
    return str(found[0]) if found else None


def gather(requested_device: str | None = None, repair: bool = False) -> Report:
    from tutor.errors import TutorError

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
        device = {"name": choice.name, "torch": choice.torch_name, "reason": choice.reason, **choice.detail,
                  "torch_build": torch_build()}
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
    try:
        cache: str = str(paths.cache_dir())
        datasets = {"mnist": mnist_status()}
    except (OSError, TutorError) as exc:  # e.g. a read-only learner folder: report it, keep checking
        from tutor.errors import os_error_message

        cache = exc.message if isinstance(exc, TutorError) else os_error_message(exc)
        datasets = {"mnist": f"cannot look: {cache}"}
        checks.append(Check("cache folder", False, cache))
    folders = {
        "learner data": str(home),
        "cache": cache,
        "lessons": str(paths.lessons_dir()),
        "exercises (starters)": str(paths.exercises_dir()),
        "data": str(paths.data_dir()),
    }
    database, db_check = database_report(repair)
    checks.append(db_check)
    lessons_ok = paths.lessons_dir().is_dir()
    checks.append(Check("lessons folder", lessons_ok, folders["lessons"]))
    return Report(versions, device, folders, datasets, database, checks, workspace=workspace_folder())


def database_report(repair: bool = False) -> tuple[dict, Check]:
    """The progress database: a full integrity check, rows per table, and a rebuild when asked."""
    from tutor.errors import TutorError
    from tutor.store import Store

    path = paths.progress_db_path()
    try:
        store = Store(path)
    except TutorError as exc:
        failed: dict[str, Any] = {"path": str(path), "error": exc.message, "problems": [exc.message], "warnings": [],
                    "rows": {}, "integrity": "not checked"}
        return failed, Check("progress database", False, exc.message)
    repaired: dict[str, Any] | None = None
    salvaged: list[dict[str, Any]] = []
    with store:
        health = store.health(full=True)
        if repair and health.problems and not store.read_only:
            before = health
            result = store.repair()
            health = store.health(full=True)
            repaired = {
                "damaged_copy": str(result.damaged_copy),
                "rows_kept": result.rows,
                "rows_lost": result.lost,
                "problems_before": list(before.problems),
            }
        if repair and not store.read_only:
            for aside in store.set_aside():
                outcome = store.salvage(aside)
                salvaged.append({"set_aside": str(outcome.source), "kept": str(outcome.kept) if outcome.kept else None,
                                 "rows_read": outcome.rows, "rows_added": outcome.added, "error": outcome.error})
            if any(not item["error"] for item in salvaged):
                health = store.health(full=True)  # the rows it now holds
        still_aside = store.set_aside()
        warnings = list(store.warnings)
    failed_salvage = {item["set_aside"]: item["error"] for item in salvaged if item["error"]}
    given_up = [item for item in salvaged if item["error"] and item["kept"] and item["kept"] != item["set_aside"]]
    aside_problems = [
        f"an unreadable progress database was set aside as {path}; the progress in it is not shown"
        + (f" (its rows could not be recovered: {failed_salvage[str(path)]}; the file is kept)"
           if str(path) in failed_salvage else "")
        for path in still_aside
    ]
    database: dict[str, Any] = {
        "path": str(health.path),
        "size_bytes": health.size_bytes,
        "schema_version": health.schema_version,
        "expected_version": health.expected_version,
        "integrity": health.integrity,
        "problems": list(health.problems) + aside_problems,
        "journal_mode": health.journal_mode,
        "read_only": health.read_only,
        "pending_results": health.pending,
        "rows": health.counts,
        "warnings": warnings,
        "repaired": repaired,
        "set_aside": [str(path) for path in still_aside],
        "salvaged": salvaged,
    }
    if health.problems:
        detail = f"damaged: {health.problems[0]}"
        if len(health.problems) > 1:
            detail += f" (and {len(health.problems) - 1} more finding(s))"
        detail += "; run `dnn-tutor doctor --repair` to rebuild it from every readable row (the damaged file is kept)"
        return database, Check("progress database", False, detail + _aside_detail(still_aside, failed_salvage))
    detail = f"{'healthy' if health.ok else 'not healthy'} (integrity {health.integrity}, {journal_words(health.journal_mode)})"
    if health.schema_version != health.expected_version:
        detail += f"; its format is v{health.schema_version}, this dnn-tutor expects v{health.expected_version}"
    ok = health.ok and not still_aside
    if health.read_only:
        detail += ", read-only: nothing new can be saved"
        ok = False
    if health.pending:
        detail += f", {health.pending} result(s) waiting to be saved"
    if repair and not repaired and not salvaged and not still_aside:
        detail += "; nothing to repair"
    if repaired:
        lost = sum(repaired["rows_lost"].values())
        detail += (f"; repaired: kept {sum(repaired['rows_kept'].values())} row(s)"
                   f"{f', {lost} could not be read' if lost else ''}; the damaged file is {repaired['damaged_copy']}")
    for item in salvaged:
        if not item["error"]:
            detail += (f"; recovered {sum(item['rows_read'].values())} row(s) from the unreadable database set aside "
                       f"as {Path(item['set_aside']).name} ({item['rows_added']} were new); it is now {item['kept']}")
    for item in given_up:  # named before and after: a warning of this same run may have named the first
        detail += (f"; the database set aside as {Path(item['set_aside']).name} is too damaged to recover any row "
                   f"({item['error']}): it is now {item['kept']}, which you may delete; doctor will not ask about it again")
    return database, Check("progress database", ok, detail + _aside_detail(still_aside, failed_salvage))


JOURNALS = {  # SQLite's journal modes, for a learner: how a write survives a crash
    "wal": "write-ahead log",
    "delete": "rollback journal",
    "truncate": "rollback journal",
    "persist": "rollback journal",
    "memory": "journal in memory only",
    "off": "no journal",
}


def journal_words(mode: str) -> str:
    """``write-ahead log`` for SQLite's ``wal``; an unknown mode as it is."""
    return JOURNALS.get(str(mode).lower(), f"{mode} journal")


def _aside_detail(still_aside: list, failed: dict[str, str]) -> str:
    """What the check says about databases set aside as unreadable whose rows are not recovered."""
    parts = []
    for path in still_aside:
        if str(path) in failed:
            parts.append(f"; could not recover the rows of {path} ({failed[str(path)]}); the file is kept")
        else:
            parts.append(f"; an unreadable database was set aside as {path}: run `dnn-tutor doctor --repair` "
                         "to recover its rows (the file is kept)")
    return "".join(parts)
