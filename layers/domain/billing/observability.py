"""One place that creates the Powertools Logger, Tracer and Metrics.

Their settings (service name, namespace, log level) come from the
``POWERTOOLS_*`` variables that template.yaml sets in Globals.

Every log line carries ``correlation_id``: an HTTP function takes the API
Gateway request id (the ``requestId`` of the API's access log); a function fed
by a queue or an event takes the one its message carries (see
``billing.schema.messages``), so one invoice can be followed across functions.

The Tracer is made when a function first imports it: making it loads the
X-Ray SDK (and asyncio with it), about an eighth of a cold start, and the count
function does not trace (see its docstring).

The domain (``billing.usage`` up to ``billing.delivery``) does not import
this module; it logs with the standard library, and its lines come out here.
"""

import logging

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics()

# The domain logs with the standard library (``logging.getLogger(__name__)``: it imports nothing of this edge).
# Its loggers, billing.*, write through this logger's handler: the same JSON lines, with the same keys
# (correlation_id and what ``follow`` appended), at the same level.
_domain = logging.getLogger("billing")
_domain.addHandler(logger.registered_handler)
_domain.setLevel(logger.log_level)
_domain.propagate = False


def follow(correlation_id: str, **keys: object) -> str:
    """Put this piece of work's correlation id and ``keys`` on every log line that follows.

    Returns the id, for the messages this work sends on.
    """
    logger.set_correlation_id(correlation_id)
    logger.append_keys(**keys)
    return correlation_id


def __getattr__(name: str):
    if name == "tracer":
        from aws_lambda_powertools import Tracer

        global tracer
        # botocore is the only library here that calls out; patching only it keeps the X-Ray SDK's other
        # patches (sqlite3, httplib, ...) and their imports out of the cold start.
        tracer = Tracer(patch_modules=("botocore",))
        return tracer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
