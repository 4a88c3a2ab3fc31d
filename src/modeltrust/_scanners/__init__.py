"""Scanners: one per format family. A scanner parses bytes; it never loads or runs them."""
