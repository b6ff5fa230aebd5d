"""Getting paid: payment details, the payment ledger, bank files (全銀), debit runs."""
