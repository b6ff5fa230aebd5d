"""One rule, read from template.yaml and the code: a function's timeout < its lease's ttl < its retry span.

A function fed by asynchronous invocations (an EventBridge rule) that takes a
lease (``billing.dal.leases``) must satisfy both halves:

* **timeout < ttl**: a lease never lapses under a holder that is still
  running, so two holders never do the work at once;
* **ttl < retry span**: a holder that died (a crash, a kill) leaves a lease
  that has lapsed before the last retry of the event that failed against it
  (``LeaseBusy``), so the work is done by the event's own retries.

The retry span is Lambda's: after a failed attempt, an asynchronous
invocation is retried after about 1 minute, then after about 2 more
(``LAMBDA_ASYNC_DELAYS_S``), up to the function's
``EventInvokeConfig.MaximumRetryAttempts`` (2 when absent). The span is the
sum of the delays of the retries it makes.

``python -m local up`` retries rule events with these delays. A test may
speed them up (``--async-retry-scale``) only as far as the rule still holds
with the scaled span (``check``): a faster local retry that broke it would
dead-letter what the cloud delivers.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from local.domain import use_domain_layer
from local.template import Template

ROOT = Path(__file__).resolve().parent.parent
LAMBDA_ASYNC_DELAYS_S = (60, 120)  # Lambda's asynchronous retries: about 1 minute, then about 2 more
DEFAULT_ASYNC_RETRIES = 2

# Which lease each asynchronously invoked function takes: "<module>:<name of its billing.dal.leases.Work>".
LEASES = {"DeliverInvoiceFunction": "billing.dal.deliveries:NOTICE"}


@dataclass(frozen=True)
class Bound:
    function: str
    lease: str
    timeout_s: float
    ttl_s: float
    retry_delays_s: tuple[float, ...]

    @property
    def span_s(self) -> float:
        return sum(self.retry_delays_s)

    def problems(self) -> list[str]:
        found = []
        if not self.timeout_s < self.ttl_s:
            found.append(
                f"{self.function}: its timeout ({self.timeout_s:g} s) is not shorter than the ttl of {self.lease}"
                f" ({self.ttl_s:g} s): the lease could lapse under a live holder"
            )
        if not self.ttl_s < self.span_s:
            found.append(
                f"{self.function}: the ttl of {self.lease} ({self.ttl_s:g} s) is not shorter than its retry span"
                f" ({' + '.join(f'{d:g}' for d in self.retry_delays_s) or '0'} s): a dead holder's lease would"
                " outlive the retries, and the event would end in the dead-letter queue"
            )
        return found

    def scaled(self, scale: float) -> Bound:
        return Bound(self.function, self.lease, self.timeout_s, self.ttl_s, scaled_delays(self.retry_delays_s, scale))


def async_retry_delays(properties: dict) -> tuple[float, ...]:
    """The delays before each retry of an asynchronous invocation, from a function's (merged) properties."""
    config = properties.get("EventInvokeConfig") or {}
    retries = int(config.get("MaximumRetryAttempts", DEFAULT_ASYNC_RETRIES))
    if not 0 <= retries <= len(LAMBDA_ASYNC_DELAYS_S):
        raise ValueError(f"MaximumRetryAttempts must be 0..{len(LAMBDA_ASYNC_DELAYS_S)}, got {retries}")
    return tuple(float(delay) for delay in LAMBDA_ASYNC_DELAYS_S[:retries])


def scaled_delays(delays: tuple[float, ...], scale: float) -> tuple[float, ...]:
    return tuple(delay * scale for delay in delays)


def lease_ttl_s(where: str) -> float:
    """The ttl of the lease ``<module>:<name>`` names, from the domain layer's code itself."""
    use_domain_layer()
    module, name = where.split(":")
    return getattr(importlib.import_module(module), name).ttl.total_seconds()


def bounds(template: Template, leases: dict[str, str] = LEASES, ttl=lease_ttl_s) -> list[Bound]:
    found = []
    for function, lease in leases.items():
        properties = template.function_properties(function)
        found.append(
            Bound(
                function=function,
                lease=lease,
                timeout_s=float(properties.get("Timeout", 3)),
                ttl_s=ttl(lease),
                retry_delays_s=async_retry_delays(properties),
            )
        )
    return found


def check(template: Template, scale: float = 1.0) -> list[str]:
    """Every broken half of the rule, with the retry delays scaled by ``scale`` (1: as in the cloud)."""
    return [problem for bound in bounds(template) for problem in bound.scaled(scale).problems()]


def minimum_scale(template: Template) -> float:
    """The retry delays may be scaled down to just above this, and no further."""
    return max((bound.ttl_s / bound.span_s for bound in bounds(template) if bound.span_s), default=0.0)
