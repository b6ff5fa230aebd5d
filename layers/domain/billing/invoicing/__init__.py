"""Invoicing: the tariff, the issuer, the qualified invoice and its e-invoice, and the month close that issues them."""
