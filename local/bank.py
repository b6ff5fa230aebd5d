"""The bank's side of a debit run, for the demo and the tests: its result file for a request, in the same layout."""

from __future__ import annotations

from local.domain import use_domain_layer

use_domain_layer()

from billing.zengin.layouts import DIRECT_DEBIT  # noqa: E402 - the layer is on the path only now


def debit_results(request: bytes, codes: dict[str, str] | None = None) -> bytes:
    """The bank's answer to ``request``: each data record's 振替結果コード by its customer number (10 digits;
    ``0`` for any not named), and the trailer's paid and failed figures filled in."""
    codes = codes or {}
    rows = DIRECT_DEBIT.read(request)
    figures = {"paid_count": 0, "paid_total": 0, "failed_count": 0, "failed_total": 0}
    answered = []
    for kind, values in rows:
        if kind == "2":
            code = codes.get(values["customer_number"][-10:], "0")
            values = {**values, "result_code": code}
            outcome = "paid" if code == "0" else "failed"
            figures[f"{outcome}_count"] += 1
            figures[f"{outcome}_total"] += int(values["amount"])
        elif kind == "8":
            values = {**values, **figures}
        answered.append((kind, values))
    return DIRECT_DEBIT.write(answered)
