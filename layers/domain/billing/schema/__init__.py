"""Every payload the project takes or gives, declared once as a type.

Request models validate; response and message models document and build.
The HTTP edge (``billing.http``) turns a validation failure into the
contract's 400 ``invalid_request``; ``tools.openapi`` publishes the same
models as ``docs/openapi.json``.
"""
