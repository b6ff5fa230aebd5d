"""Settings read from the environment that template.yaml sets, once, lazily.

Nothing is read at import time, so a test can set variables (or point boto3
at moto) after importing a handler.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    table_name: str

    @classmethod
    def from_env(cls) -> Settings:
        return cls(table_name=_required("TABLE_NAME"))


@functools.cache
def settings() -> Settings:
    return Settings.from_env()


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"environment variable {name} is not set (template.yaml sets it)")
    return value
