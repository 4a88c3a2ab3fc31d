"""Schema validation of CycloneDX BOMs for tests (the strict 1.6 schema, formats checked)."""

from __future__ import annotations

import functools

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator


@functools.cache
def _cyclonedx_validator() -> JsonStrictValidator:
    return JsonStrictValidator(SchemaVersion.V1_6)


def assert_valid_cyclonedx(text: str) -> None:
    """Fail with the validator's message unless ``text`` is a valid CycloneDX 1.6 JSON BOM."""
    error = _cyclonedx_validator().validate_str(text)
    assert error is None, f"invalid CycloneDX 1.6: {error}"
