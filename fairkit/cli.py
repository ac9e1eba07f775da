"""The ``fairkit`` command.

``fairkit audit``
    Per-group rates and the gaps between groups for a set of decisions. With no data
    arguments it audits the published COMPAS decisions (score_text Medium/High read as
    "predicted to reoffend") against two-year recidivism, by race and by sex. With
    ``--csv FILE --target COL --pred COL --prot-attr COL`` it audits a user's file, read in
    chunks so a file larger than memory works.
``fairkit compare``
    The fairness-accuracy comparison of the baseline and the mitigators (see
    :mod:`fairkit.model_selection`).
"""

from __future__ import annotations

import argparse
import sys

from . import __version__
from ._cli_audit import add_audit_parser
from ._cli_common import CLIError
from ._cli_compare import add_compare_parser

__all__ = ["CLIError", "build_parser", "main"]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="fairkit", description="Measure and mitigate unfairness in ML models."
    )
    parser.add_argument("--version", action="version", version=f"fairkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    add_audit_parser(sub)
    add_compare_parser(sub)
    return parser


def main(argv=None, out=None):
    """Run the ``fairkit`` command; returns the exit status."""
    out = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args, out)
    except CLIError as exc:
        print(f"fairkit {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
