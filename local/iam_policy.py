"""Evaluate identity-based IAM policies the way IAM does, for the local gateway's AWS_IAM routes.

One request is one action (``execute-api:Invoke``) on one resource (the
route's execute-api ARN). IAM's rules for that case:

* a statement applies when one of its ``Action`` patterns matches the action
  (case-insensitively) and one of its ``Resource`` patterns matches the
  resource (case-sensitively); ``NotAction`` and ``NotResource`` invert;
* ``*`` matches any run of characters (``/`` and ``:`` included), ``?`` any
  one character;
* an explicit ``Deny`` beats every ``Allow``; with no applicable statement the
  answer is the implicit (default) deny.

``Condition`` and ``Principal`` have no local meaning for an identity policy
here, so a statement that uses them is refused when the policy is read rather
than guessed at per request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache


class PolicyError(ValueError):
    """The policy document is malformed or uses something the local evaluator does not support."""


class Decision(StrEnum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit_deny"
    IMPLICIT_DENY = "implicit_deny"


@cache
def _pattern(glob: str, ignore_case: bool) -> re.Pattern:
    text = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in glob)
    return re.compile(text, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def matches(glob: str, value: str, ignore_case: bool = False) -> bool:
    """IAM's wildcard match of a whole value: ``*`` is any run of characters, ``?`` exactly one."""
    return _pattern(glob, ignore_case).fullmatch(value) is not None


def _strings(value: object, where: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(item, str) for item in items):
        raise PolicyError(f"{where} must be a string or a non-empty list of strings, got {value!r}")
    return tuple(items)


@dataclass(frozen=True)
class Statement:
    effect: str  # Allow | Deny
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_action: bool = False
    not_resource: bool = False

    @classmethod
    def parse(cls, raw: Mapping, where: str) -> Statement:
        if not isinstance(raw, Mapping):
            raise PolicyError(f"{where} is not a statement: {raw!r}")
        unsupported = set(raw) - {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource"}
        if unsupported:
            names = ", ".join(sorted(unsupported))
            raise PolicyError(f"{where} uses {names}, which the local evaluator does not support")
        if raw.get("Effect") not in ("Allow", "Deny"):
            raise PolicyError(f"{where} Effect must be Allow or Deny, got {raw.get('Effect')!r}")
        if ("Action" in raw) == ("NotAction" in raw):
            raise PolicyError(f"{where} needs exactly one of Action and NotAction")
        if ("Resource" in raw) == ("NotResource" in raw):
            raise PolicyError(f"{where} needs exactly one of Resource and NotResource")
        action_key = "Action" if "Action" in raw else "NotAction"
        resource_key = "Resource" if "Resource" in raw else "NotResource"
        return cls(
            effect=raw["Effect"],
            actions=_strings(raw[action_key], f"{where} {action_key}"),
            resources=_strings(raw[resource_key], f"{where} {resource_key}"),
            not_action=action_key == "NotAction",
            not_resource=resource_key == "NotResource",
        )

    def applies_to(self, action: str, resource: str) -> bool:
        action_matches = any(matches(pattern, action, ignore_case=True) for pattern in self.actions)
        resource_matches = any(matches(pattern, resource) for pattern in self.resources)
        return action_matches != self.not_action and resource_matches != self.not_resource


@dataclass(frozen=True)
class Policy:
    """The statements of one or more policy documents, as attached to one principal."""

    statements: tuple[Statement, ...] = ()

    @classmethod
    def parse(cls, *documents: Mapping, name: str = "policy") -> Policy:
        statements = []
        for document in documents:
            if not isinstance(document, Mapping) or "Statement" not in document:
                raise PolicyError(f"{name} has no Statement: {document!r}")
            raw = document["Statement"]
            for index, item in enumerate([raw] if isinstance(raw, Mapping) else raw):
                statements.append(Statement.parse(item, f"{name} Statement[{index}]"))
        return cls(tuple(statements))

    def decide(self, action: str, resource: str) -> Decision:
        applicable = [statement for statement in self.statements if statement.applies_to(action, resource)]
        if any(statement.effect == "Deny" for statement in applicable):
            return Decision.EXPLICIT_DENY
        if applicable:
            return Decision.ALLOW
        return Decision.IMPLICIT_DENY

    def allows(self, action: str, resource: str) -> bool:
        return self.decide(action, resource) is Decision.ALLOW
