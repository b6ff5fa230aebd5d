"""Usage: record counts folded into each month's peak, as the fee needs them."""
