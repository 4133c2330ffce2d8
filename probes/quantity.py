"""Kubernetes resource quantities ("500m", "8Gi", "1.5") as Decimals.

The same rules and results as `kubernetes.utils.parse_quantity` (tests/probes/test_quantity.py
proves it on every suffix and on malformed input), without importing the kubernetes package, whose
import costs more than judging a bundle of manifests.
"""
from decimal import Decimal, InvalidOperation

_EXPONENTS = {"n": -3, "u": -2, "m": -1, "K": 1, "k": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6}


def parse_quantity(quantity) -> Decimal:
    """`200Mi` → Decimal(209715200). Raises ValueError on an unknown suffix or a malformed number."""
    if isinstance(quantity, (int, float, Decimal)):
        return Decimal(quantity)
    quantity = str(quantity)
    number, suffix = quantity, ""
    if len(quantity) >= 2 and quantity[-1] == "i":
        if quantity[-2] in _EXPONENTS:
            number, suffix = quantity[:-2], quantity[-2:]
    elif quantity and quantity[-1] in _EXPONENTS:
        number, suffix = quantity[:-1], quantity[-1]
    try:
        value = Decimal(number)
    except InvalidOperation:
        raise ValueError(f"Invalid number format: {number}") from None
    if not suffix:
        return value
    if suffix == "ki":  # binary suffixes are upper case: Ki, Mi, …
        raise ValueError(f"{quantity} has unknown suffix")
    base = 1024 if suffix.endswith("i") else 1000
    return value * (base ** Decimal(_EXPONENTS[suffix[0]]))
