"""Our quantity parser gives what the kubernetes client's gives, value and error alike."""
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kubernetes.utils import parse_quantity as client_parse

from probes.quantity import parse_quantity

SUFFIXES = ["", "n", "u", "m", "k", "K", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "ki", "mi",
            "i", "x", "Xi", "KiB", "e3", "E3"]
NUMBERS = ["0", "1", "1.5", "500", ".5", "2.", "-3", "+4", "1e3", "abc", "", " 1", "1_000", "NaN", "Infinity"]


def _outcome(parse, value):
    try:
        result = parse(value)
    except ValueError as exc:
        return ("error", str(exc))
    return ("nan",) if result.is_nan() else result  # NaN equals nothing, itself included


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("number", NUMBERS)
def test_same_as_the_client_on_every_suffix(number, suffix):
    assert _outcome(parse_quantity, number + suffix) == _outcome(client_parse, number + suffix)


@given(st.one_of(st.integers(), st.text(max_size=8),
                 st.builds(lambda n, s: f"{n}{s}", st.decimals(allow_nan=False, allow_infinity=False,
                                                               places=3), st.sampled_from(SUFFIXES))))
def test_same_as_the_client_on_anything(value):
    assert _outcome(parse_quantity, value) == _outcome(client_parse, value)


def test_numbers_pass_through():
    assert parse_quantity(3) == client_parse(3) == Decimal(3)
    assert parse_quantity("250m") == Decimal("0.250") and parse_quantity("8Gi") == 8 * 1024 ** 3
