"""Imports each named module first, in an interpreter where nothing of ours is loaded yet: run by
tests/core/test_structure.py from the project root as `python -c <this text> THIRD_PARTY NAME...`
(THIRD_PARTY: the packages our modules import, comma-separated).

A fresh interpreter per module spends a second loading Flask, SQLAlchemy and the rest again; here they are
loaded once, then the interpreter forks for each module, so each child still meets our modules first.
Prints one line per module that failed: its name, a tab, and the last line of its traceback or its exit
status."""

import importlib
import os
import sys
import traceback

AT_ONCE = 4
OURS = ("modules", "app_modular", "tests")


def preload(third_party: list[str]) -> None:
    for name in third_party:
        try:
            importlib.import_module(name)
        except Exception:  # a package missing here fails the module that needs it, in its child
            pass


def import_first(name: str) -> None:
    """In the child: import `name`, then leave without running the parent's exit handlers."""
    try:
        importlib.import_module(name)
    except BaseException:
        print(f"{name}\t{traceback.format_exc().strip().splitlines()[-1]}", flush=True)
        os._exit(1)
    os._exit(0)


def main(third_party: list[str], names: list[str]) -> None:
    preload(third_party)
    loaded = sorted(name for name in sys.modules if name.split(".")[0] in OURS)
    if loaded:
        sys.exit(f"loaded before the first import: {loaded}")
    running: dict[int, str] = {}

    def reap() -> None:
        pid, status = os.wait()
        if os.waitstatus_to_exitcode(status):
            print(f"{running[pid]}\texit status {os.waitstatus_to_exitcode(status)}", flush=True)
        del running[pid]

    for name in names:
        while len(running) >= AT_ONCE:
            reap()
        pid = os.fork()
        if pid == 0:
            import_first(name)
        running[pid] = name
    while running:
        reap()


if __name__ == "__main__":
    main([name for name in sys.argv[1].split(",") if name], sys.argv[2:])
