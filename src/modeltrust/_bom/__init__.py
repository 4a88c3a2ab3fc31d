"""Bills of materials: one body of evidence, rendered as CycloneDX 1.6 or SPDX 3.0.1."""
