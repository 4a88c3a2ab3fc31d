"""Reports: one immutable model of a scan, rendered by one module per output format."""
