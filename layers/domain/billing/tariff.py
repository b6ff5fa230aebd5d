"""The versioned price list: plans, brackets, options and tax.

Prices live in ``config/tariff.toml`` (shipped in the domain layer), never in
code. ``load_tariff`` validates the whole file at load and names the field
that is wrong, so a bad price list fails the deployment, not an invoice.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from billing import months
from billing.errors import InvalidRequest

DEFAULT_PATH = Path(__file__).parent / "config" / "tariff.toml"
ROUNDING_MODES = ("down", "half_up", "up")


class TariffError(ValueError):
    """The tariff file is unusable; the message names the field."""


@dataclass(frozen=True)
class Plan:
    code: str
    name: str
    minimum_term_months: int
    brackets: tuple[int, ...]
    price_per_extra_bracket: int

    def fee(self, bracket: int) -> int:
        """The whole monthly fee for the 1-based bracket the peak falls in."""
        if bracket <= len(self.brackets):
            return self.brackets[bracket - 1]
        return self.brackets[-1] + (bracket - len(self.brackets)) * self.price_per_extra_bracket


@dataclass(frozen=True)
class Option:
    code: str
    name: str
    monthly_fee: int


@dataclass(frozen=True)
class TariffVersion:
    effective_from: str
    plans: dict[str, Plan]
    options: dict[str, Option]


@dataclass(frozen=True)
class Tariff:
    currency: str
    bracket_size: int
    tax_rate_percent: int
    rounding: str
    versions: tuple[TariffVersion, ...]  # oldest first

    def for_month(self, month: str) -> TariffVersion:
        """The version in force for a billing month."""
        applicable = [v for v in self.versions if v.effective_from <= month]
        if not applicable:
            raise TariffError(f"no tariff version is effective for {month}")
        return applicable[-1]

    def bracket_of(self, peak: int) -> int:
        """1-based bracket: 0-10,000 is 1, 10,001-20,000 is 2, and so on."""
        return max(1, -(-peak // self.bracket_size))

    def bracket_range(self, bracket: int) -> tuple[int, int]:
        low = 0 if bracket == 1 else (bracket - 1) * self.bracket_size + 1
        return low, bracket * self.bracket_size

    def check_terms(self, month: str, plan: str, options: Iterable[str]) -> None:
        """Refuse a plan or option that the version in force for ``month`` does not sell."""
        try:
            version = self.for_month(month)
        except TariffError as error:
            raise InvalidRequest(str(error)) from None
        if plan not in version.plans:
            raise InvalidRequest(f"plan {plan!r} is not in the tariff in force for {month}")
        unknown = [option for option in options if option not in version.options]
        if unknown:
            raise InvalidRequest(f"option(s) {', '.join(map(repr, unknown))} not in the tariff in force for {month}")


@functools.cache
def load_tariff(path: Path = DEFAULT_PATH) -> Tariff:
    with open(path, "rb") as handle:
        raw = tomllib.load(handle)
    return parse_tariff(raw)


def parse_tariff(raw: dict) -> Tariff:
    currency = _get(raw, "currency", str)
    if currency != "JPY":
        raise TariffError(f"currency must be JPY, got {currency!r}")
    tax = _get(raw, "tax", dict)
    rounding = _get(tax, "rounding", str, "tax.")
    if rounding not in ROUNDING_MODES:
        raise TariffError(f"tax.rounding must be one of {ROUNDING_MODES}, got {rounding!r}")
    versions = [_version(v, i) for i, v in enumerate(_get(raw, "versions", list))]
    if not versions:
        raise TariffError("versions must list at least one tariff version")
    starts = [v.effective_from for v in versions]
    if starts != sorted(set(starts)):
        raise TariffError(f"versions[].effective_from must be strictly increasing, got {starts}")
    return Tariff(
        currency=currency,
        bracket_size=_positive(raw, "bracket_size"),
        tax_rate_percent=_positive(tax, "rate_percent", "tax."),
        rounding=rounding,
        versions=tuple(versions),
    )


def _version(raw: dict, index: int) -> TariffVersion:
    where = f"versions[{index}]."
    start = _get(raw, "effective_from", str, where)
    if not months.is_month(start):
        raise TariffError(f"{where}effective_from must be YYYY-MM, got {start!r}")
    plans = {code: _plan(code, body, f"{where}plans.{code}.") for code, body in _get(raw, "plans", dict, where).items()}
    if not plans:
        raise TariffError(f"{where}plans must define at least one plan")
    options = {
        code: Option(
            code,
            _get(body, "name", str, f"{where}options.{code}."),
            _fee(body, "monthly_fee", f"{where}options.{code}."),
        )
        for code, body in raw.get("options", {}).items()
    }
    return TariffVersion(start, plans, options)


def _plan(code: str, raw: dict, where: str) -> Plan:
    brackets = _get(raw, "brackets", list, where)
    if not brackets or any(isinstance(p, bool) or not isinstance(p, int) or p < 0 for p in brackets):
        raise TariffError(f"{where}brackets must be a non-empty list of yen amounts")
    if brackets != sorted(brackets):
        raise TariffError(f"{where}brackets must not get cheaper as the peak grows")
    return Plan(
        code=code,
        name=_get(raw, "name", str, where),
        minimum_term_months=_positive(raw, "minimum_term_months", where),
        brackets=tuple(brackets),
        price_per_extra_bracket=_fee(raw, "price_per_extra_bracket", where),
    )


def _option(code: str, raw: dict, where: str) -> Option:
    return Option(code=code, name=_get(raw, "name", str, where), monthly_fee=_fee(raw, "monthly_fee", where))


def _get(raw: dict, key: str, kind: type, where: str = ""):
    if key not in raw:
        raise TariffError(f"{where}{key} is missing")
    value = raw[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TariffError(f"{where}{key} must be a {kind.__name__}, got {value!r}")
    return value


def _fee(raw: dict, key: str, where: str) -> int:
    value = _get(raw, key, int, where)
    if value < 0:
        raise TariffError(f"{where}{key} must not be negative, got {value}")
    return value


def _positive(raw: dict, key: str, where: str = "") -> int:
    value = _get(raw, key, int, where)
    if value <= 0:
        raise TariffError(f"{where}{key} must be positive, got {value}")
    return value
