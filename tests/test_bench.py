"""Every module `make bench` runs imports and has its entry point: a bench broken by a change
elsewhere is found here, not when someone next runs the whole bench (a quarter of an hour)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import bench

NAMES = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_"))


def test_the_bench_modules_are_found():
    assert {"bench_scan", "bench_intake", "bench_parse"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_each_bench_module_imports_and_has_its_entry_point(name):
    assert callable(importlib.import_module(f"bench.{name}").run)
