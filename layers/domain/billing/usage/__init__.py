"""Usage: record counts folded into each month's peak, as the fee needs them, and the 洗い替え (churn) they show."""
