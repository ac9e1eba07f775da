"""Benchmark: streaming a large LAR file and generating synthetic data at scale.

Run on demand (not part of the test suite):

    python benchmarks/bench_datasets.py [--rows 1000000]

It writes a 2018+-schema LAR file of ``--rows`` rows by repeating the bundled 288-row format
fixture (so the values are real, the statistics meaningless), then times in one run:

- the peer: ``pandas.read_csv(..., dtype=str, chunksize=...)`` that only parses the file;
- ``read_lar(..., chunksize=...)`` (parse + map to the common columns);
- ``lar_group_counts(..., by=["race", "sex"])`` (parse + map + reduce);
- ``make_biased_classification`` for the same number of rows and 10 features, against the
  floor ``numpy.random.Generator.standard_normal`` of the same matrix.

and prints the ratios. Peak memory stays bounded by the chunk size.
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from fairkit.datasets import lar_group_counts, make_biased_classification, read_lar
from fairkit.datasets._files import bundled_data_dir


def _timed(fn, repeat=1):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunksize", type=int, default=200_000)
    args = parser.parse_args()

    fixture = (bundled_data_dir() / "hmda" / "lar_2020_ny_one_lender.csv").read_text()
    header, *rows = [line for line in fixture.split("\n") if line]
    reps = -(-args.rows // len(rows))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lar_big.csv"
        with open(path, "w") as fh:
            fh.write(header + "\n")
            block = "\n".join(rows) + "\n"
            for _ in range(reps):
                fh.write(block)
        n = reps * len(rows)
        print(f"LAR file: {n:,} rows x 99 columns, {path.stat().st_size / 2**20:.0f} MiB")

        t_peer, _ = _timed(lambda: sum(len(c) for c in pd.read_csv(
            path, dtype=str, keep_default_na=False, chunksize=args.chunksize)))
        t_read, _ = _timed(lambda: sum(len(c) for c in read_lar(path,
                                                                chunksize=args.chunksize)))
        t_count, counts = _timed(lambda: lar_group_counts(path, by=["race", "sex"],
                                                          chunksize=args.chunksize))
        assert counts["applications"].sum() == n
        print(f"pandas.read_csv (peer, parse only): {t_peer:8.2f} s")
        print(f"read_lar (common columns)        : {t_read:8.2f} s  ratio {t_read / t_peer:.2f}")
        print(f"lar_group_counts(race x sex)     : {t_count:8.2f} s  "
              f"ratio {t_count / t_peer:.2f}")

    rng = np.random.default_rng(0)
    t_floor, _ = _timed(lambda: rng.standard_normal((args.rows, 10)), repeat=3)
    t_make, _ = _timed(lambda: make_biased_classification(args.rows, 10, random_state=0),
                       repeat=3)
    print(f"standard_normal({args.rows:,} x 10) floor    : {t_floor:8.3f} s")
    print(f"make_biased_classification           : {t_make:8.3f} s  "
          f"ratio {t_make / t_floor:.2f}")


if __name__ == "__main__":
    main()
