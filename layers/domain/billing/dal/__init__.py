"""Data access: the only code that talks to AWS.

Each store wraps one concern of the single BillingTable (see ``keys``) and
speaks the domain's types; handlers never build DynamoDB requests.
"""
