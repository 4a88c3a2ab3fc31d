"""Property tests: any bytes in, a report out — never an exception, never a hang."""

from __future__ import annotations

import pickle

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modeltrust._inventory.formats import Format
from modeltrust._scanners.interface import ScanContext
from modeltrust._scanners.pickle.scanner import PickleScanner
from modeltrust._scanners.pickle.vm import Interpreter
from modeltrust._source.interface import Artifact, ExpansionBudget, Limits

LIMITS = Limits(max_opcodes=200_000, max_seconds=5.0)


def _scan(data: bytes) -> None:
    children: list[Artifact] = []
    ctx = ScanContext(LIMITS, ExpansionBudget(1 << 24), children.append)
    result = PickleScanner().scan(Artifact.from_bytes("x.pkl", data, 0), data, Format.PICKLE, ctx)
    assert result.coverage is not None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_arbitrary_bytes(data: bytes) -> None:
    Interpreter(data, LIMITS).run(0)
    _scan(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512), st.integers(min_value=0, max_value=5))
def test_pickle_prefix_then_noise(noise: bytes, protocol: int) -> None:
    _scan(pickle.dumps({"a": [1, "b", 2.5]}, protocol=protocol)[:-1] + noise)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_real_pickles(data: st.DataObject) -> None:
    base = bytearray(pickle.dumps({"k": list(range(20)), "s": "text" * 5}, protocol=4))
    for _ in range(data.draw(st.integers(1, 6))):
        i = data.draw(st.integers(0, len(base) - 1))
        base[i] = data.draw(st.integers(0, 255))
    _scan(bytes(base))
