"""Billing domain for the record-count-billed email service.

Everything directly in this package is plain Python: months, counts, account
profiles, tariffs, tax, invoices and dates. It never imports boto3; the
``billing.dal`` subpackage is the only place that talks to AWS.
"""

from billing import snapstart  # noqa: F401  (registers the SnapStart restore hook in every function)
