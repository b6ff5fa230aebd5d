"""Invoicing: the issuer, the qualified invoice and its e-invoice, and the month close that issues them.

The prices come from ``billing.tariff``, a layer below, which usage and contracts read as well.
"""
