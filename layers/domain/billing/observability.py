"""One place that creates the Powertools Logger, Tracer and Metrics.

Their settings (service name, namespace, log level) come from the
``POWERTOOLS_*`` variables that template.yaml sets in Globals.

The Tracer is made when a function first imports it: making it loads the
X-Ray SDK (and asyncio with it), about an eighth of a cold start, and the count
function does not trace (see its docstring).
"""

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics()


def __getattr__(name: str):
    if name == "tracer":
        from aws_lambda_powertools import Tracer

        global tracer
        # botocore is the only library here that calls out; patching only it keeps the X-Ray SDK's other
        # patches (sqlite3, httplib, ...) and their imports out of the cold start.
        tracer = Tracer(patch_modules=("botocore",))
        return tracer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
