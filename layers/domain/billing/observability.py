"""One place that creates the Powertools Logger, Tracer and Metrics.

Their settings (service name, namespace, log level) come from the
``POWERTOOLS_*`` variables that template.yaml sets in Globals.

Every log line carries ``correlation_id``: an HTTP function takes the API
Gateway request id (the ``requestId`` of the API's access log); a function fed
by a queue or an event takes the one its message carries (see
``billing.schema.messages``), so one invoice can be followed across functions.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def follow(correlation_id: str, **keys: object) -> str:
    """Put this piece of work's correlation id and ``keys`` on every log line that follows.

    Returns the id, for the messages this work sends on.
    """
    logger.set_correlation_id(correlation_id)
    logger.append_keys(**keys)
    return correlation_id
