"""The TensorFlow op catalogue shared by the TensorFlow and TFLite scanners."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modeltrust._scanners.tf_ops import KNOWN_OPS, canonical, grade_op, imitated, outside_paths


@pytest.mark.parametrize(("op", "target"), [
    ("pyfunc", "PyFunc"), ("Ns>ReadFile", "ReadFile"), ("_WriteFile", "WriteFile"),
    ("tf.raw_ops.LoadLibrary", "LoadLibrary"), ("EagerPyFuncV9", "EagerPyFunc"),
])
def test_imitations(op: str, target: str) -> None:
    assert canonical(op) == canonical(target) and imitated(op) is not None


def test_standard_ops_imitate_nothing() -> None:
    assert all(imitated(op) is None for op in KNOWN_OPS)
    assert grade_op("MatMul", [], []) is None


@pytest.mark.parametrize(("value", "outside"), [
    ("/etc/passwd", True), ("C:\\Windows", True), ("\\\\host\\share", True),
    ("../x", True), ("gs://bucket/x", True), ("file:/tmp/x", True), ("~/.ssh", True),
    ("variables/variables", False), ("loc:@w", False), ("x:0", False), ("stderr", False),
])
def test_outside_paths(value: str, outside: bool) -> None:
    assert bool(outside_paths([value])) is outside


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60), st.lists(st.text(max_size=30), max_size=4))
def test_grade_any_op_name(op: str, strings: list[str]) -> None:
    graded = grade_op(op, strings, strings)
    assert graded is None or graded[0] in {"code", "write", "read", "network", "file"}
