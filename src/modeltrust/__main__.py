"""``python -m modeltrust``: same as the ``modeltrust`` command."""

from modeltrust._cli.main import main

main()
