"""Inventory: identify each artifact's format from its bytes and compute its digests."""
