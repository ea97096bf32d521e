"""`python -m bench [NAME...]`: run every bench_*.py (or those named) and print one table."""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_"))
    if argv:
        names = [n for n in names if any(a in n for a in argv)]
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # the apps it builds log each request: keep the table readable
    figures = []
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"running {name} ...", file=sys.stderr, flush=True)
        figures.extend(module.run())
    print(f"{'issue':<4} {'measure':<90} {'value':>10} {'unit':<8} {'target':<22} status")
    for figure in figures:
        print(figure.row())
    missed = [f for f in figures if not f.ok]
    print(f"{len(figures) - len(missed)} of {len(figures)} targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
