"""One place that creates the Powertools Logger, Tracer and Metrics.

Their settings (service name, namespace, log level) come from the
``POWERTOOLS_*`` variables that template.yaml sets in Globals.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()
