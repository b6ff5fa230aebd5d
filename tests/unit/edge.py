"""What the HTTP edge does to a body before the domain sees it, for tests that need no resolver."""

from __future__ import annotations

from pydantic import BaseModel, ValidationError

from billing.schema.parsing import invalid


def typed(model: type[BaseModel], body: object):
    """``body`` validated by ``model``, or the 400 the API would answer (``InvalidRequest``)."""
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise invalid(error) from None
