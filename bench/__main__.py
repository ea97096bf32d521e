"""`python -m bench [NAME...]`: run every bench_*.py (or those named) and print one table."""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import traceback
from pathlib import Path


def main(argv: list[str]) -> int:
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_"))
    if argv:
        names = [n for n in names if any(a in n for a in argv)]
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # the apps it builds log each request: keep the table readable
    figures, failed = [], []
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        try:  # one bench that breaks is reported, and the others still run
            figures.extend(importlib.import_module(f"bench.{name}").run())
        except Exception:
            traceback.print_exc()
            failed.append(name)
    print(f"{'issue':<4} {'measure':<90} {'value':>10} {'unit':<8} {'target':<22} status")
    for figure in figures:
        print(figure.row())
    missed = [f for f in figures if not f.ok]
    print(f"{len(figures) - len(missed)} of {len(figures)} targets met")
    if failed:
        print(f"did not finish (their tracebacks above): {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
