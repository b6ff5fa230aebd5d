"""Getting paid: the payment ledger, debit runs and their results, bank transfers and reminders."""
