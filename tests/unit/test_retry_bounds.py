"""A function's timeout < its lease's ttl < its retry span, read from template.yaml and the code (local.retry_bounds).

The real values must keep it; a change to any one of the three that breaks it fails here.
"""

from __future__ import annotations

import pkgutil
from importlib import import_module

import pytest

import billing.dal
from billing.dal.leases import Work
from local.retry_bounds import (
    LAMBDA_ASYNC_DELAYS_S,
    LEASES,
    Bound,
    async_retry_delays,
    bounds,
    check,
    lease_ttl_s,
    minimum_scale,
)
from local.template import Template
from tests.conftest import ROOT

TEMPLATE = ROOT / "template.yaml"


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load(TEMPLATE)


def edited(template: Template, function: str, **properties) -> Template:
    """The template with ``properties`` laid over one function's own (the file is not touched)."""
    copy = Template.load(TEMPLATE)
    own = copy.resources[function].setdefault("Properties", {})
    for name, value in properties.items():
        if value is None:
            own.pop(name, None)
        else:
            own[name] = value
    return copy


def test_the_real_template_and_leases_keep_the_rule(template):
    assert check(template) == []
    (notice,) = bounds(template)
    # the delivery function: 15 s (Globals), its notice's lease 45 s, retried after 60 and 120 s
    assert (notice.function, notice.timeout_s, notice.ttl_s, notice.retry_delays_s) == (
        "DeliverInvoiceFunction",
        15,
        45,
        (60, 120),
    )
    assert notice.timeout_s < notice.ttl_s < notice.span_s


def test_a_lease_ttl_above_the_retry_span_breaks_it(template):
    too_long = bounds(template, ttl=lambda lease: 181.0)
    assert [problem for bound in too_long for problem in bound.problems()] == [
        "DeliverInvoiceFunction: the ttl of billing.dal.deliveries:NOTICE (181 s) is not shorter than its retry span"
        " (60 + 120 s): a dead holder's lease would outlive the retries, and the event would end in the dead-letter"
        " queue"
    ]


def test_a_timeout_at_or_above_the_ttl_breaks_it(template):
    assert check(edited(template, "DeliverInvoiceFunction", Timeout=45)) != []
    assert check(edited(template, "DeliverInvoiceFunction", Timeout=30)) == []


def test_fewer_retries_break_it(template):
    one_retry = edited(template, "DeliverInvoiceFunction", EventInvokeConfig={"MaximumRetryAttempts": 1})
    assert check(one_retry) == []  # 45 s < 60 s
    no_retry = edited(template, "DeliverInvoiceFunction", EventInvokeConfig={"MaximumRetryAttempts": 0})
    assert any("retry span" in problem for problem in check(no_retry))
    assert async_retry_delays({}) == LAMBDA_ASYNC_DELAYS_S  # Lambda retries twice unless told otherwise


def test_a_local_speed_up_is_allowed_only_while_the_span_outlasts_the_ttl(template):
    assert minimum_scale(template) == 45 / 180
    assert check(template, scale=0.5) == []  # 30 + 60 s > 45 s: what the crash test uses
    assert check(template, scale=0.25) != []  # 15 + 30 s is not longer than 45 s
    assert Bound("F", "l", 1, 10, (5.0, 5.0)).problems() != [] and Bound("F", "l", 1, 9, (5.0, 5.0)).problems() == []


def test_every_lease_the_data_layer_defines_is_bound_by_the_rule():
    """A new lease (a ``Work``) must be listed in LEASES with the function whose retries it relies on."""
    defined = {
        f"{info.name}:{name}"
        for info in pkgutil.iter_modules(billing.dal.__path__, "billing.dal.")
        for name, value in vars(import_module(info.name)).items()
        if isinstance(value, Work)
    }
    assert defined == set(LEASES.values())
    assert {lease: lease_ttl_s(lease) for lease in defined} == {"billing.dal.deliveries:NOTICE": 45.0}


def test_up_refuses_a_speed_up_that_breaks_the_rule(tmp_path):
    from local.stack import LocalStack
    from local.template import TemplateError

    with pytest.raises(TemplateError, match="too fast"):
        LocalStack(TEMPLATE, state_path=tmp_path / "stack.json", async_retry_scale=0.2)
