"""Sources: turn a scan target (file, folder, archive member) into artifacts."""
