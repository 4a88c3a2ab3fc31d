"""The command-line interface: one module per subcommand, errors mapped to exit codes.

``main.py`` holds the ``modeltrust`` group and the error boundary; ``options.py`` the
options shared by commands that scan; ``output.py`` where output goes.
"""
