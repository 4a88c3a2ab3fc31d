"""STUB CLI."""

import sys


def main() -> None:
    """STUB."""
    import modeltrust

    r = modeltrust.scan(sys.argv[1:])
    for f in r.findings:
        print(f)
    for e in r.files:
        print(e)
