"""One place that creates the Powertools Logger, Tracer and Metrics.

Their settings (service name, namespace, log level) come from the
``POWERTOOLS_*`` variables that template.yaml sets in Globals.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
# botocore is the only library here that calls out; patching only it keeps the X-Ray SDK's other patches
# (sqlite3, httplib, ...) and their imports out of every cold start.
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics()
