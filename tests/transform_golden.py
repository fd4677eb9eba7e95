"""Reviewed expected outputs of the transform: the orders-v1 rules applied by hand to tests/golden/transform/.

The expected outputs are these files, checked by hand against rules/orders-v1.json, never what the
handlers' own functions compute; tests that need a large document repeat the golden orders.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

GOLDEN_DIR = Path(__file__).resolve().parent / "golden" / "transform"


def canonical(value: Any) -> str:
    """JSON text that tells 1 from 1.0 and from true (which == does not), keys in one order."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def golden_orders(copies: int) -> tuple[bytes, Any]:
    """The golden orders document with its orders repeated `copies` times, and its golden output likewise:
    every rule of orders-v1 acts within one order, so the orders' copies give copies of their output."""
    text = (GOLDEN_DIR / "orders-v1.xml").read_text(encoding="utf-8")
    head, first = text.split("  <order ", 1)
    orders, tail = ("  <order " + first).rsplit("</orders>", 1)
    golden = json.loads((GOLDEN_DIR / "orders-v1.json").read_text(encoding="utf-8"))
    return (head + orders * copies + "</orders>" + tail).encode(), {
        **golden,
        "order": golden["order"] * copies,
    }


def golden_orders_of_about(size_bytes: int) -> tuple[bytes, Any]:
    """golden_orders with as many copies as it takes to reach `size_bytes` (less than a copy more)."""
    once, twice = (len(golden_orders(copies)[0]) for copies in (1, 2))
    per_copy = twice - once
    return golden_orders(max(1, -(-(size_bytes - (once - per_copy)) // per_copy)))
