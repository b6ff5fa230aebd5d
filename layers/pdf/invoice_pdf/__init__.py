"""Invoice PDFs: reportlab and the embedded IPAex Gothic font, in their own layer.

Only the functions that render import this package, so the record-count API
stays free of reportlab and the 6 MB font.
"""

from invoice_pdf.render import render_invoice_pdf, render_statement_sheets

__all__ = ["render_invoice_pdf", "render_statement_sheets"]
