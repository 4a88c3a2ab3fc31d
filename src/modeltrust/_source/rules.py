"""Rules raised while collecting files and reading containers."""

from __future__ import annotations

from modeltrust.findings import Severity
from modeltrust.rules import rule

SYMLINK_ESCAPE = rule(
    "MT-SRC-001",
    "Symbolic link points outside the scanned folder",
    Severity.HIGH,
    """
    A file in the model folder is a symbolic link whose target lies outside the folder (or,
    inside a Hugging Face cache, outside the cache). A loader following it would read a file
    the publisher did not ship — possibly a secret (``~/.ssh``, a token) or a planted
    payload — and a tool writing through it would overwrite that file. modeltrust does not
    follow it. Medium when the target is a blob of a Hugging Face cache, the layout older
    ``huggingface-cli download --local-dir`` versions created.
    """,
    fix="Replace the link with the real file, or remove it.",
    cwe=59,
)
UNREADABLE = rule(
    "MT-SRC-002",
    "File or folder could not be read",
    Severity.MEDIUM,
    """
    A file or sub-folder of the target could not be opened (permissions, I/O error, special
    file). Its content is unknown, so it cannot be vouched for.
    """,
    fix="Make the path readable and scan again.",
)
TOO_LARGE = rule(
    "MT-SRC-003",
    "File skipped: larger than --max-file-size",
    Severity.INFO,
    """
    The file is larger than the configured maximum and was not analysed. It is listed in the
    report as not analysed.
    """,
    fix="Raise --max-file-size (or set it to 0 for no limit) to analyse it.",
)
