"""The pickle scanner: a symbolic interpreter over pickle opcodes that never unpickles."""
