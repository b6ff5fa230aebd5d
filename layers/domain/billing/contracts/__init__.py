"""An account's contract over time: its terms by month, changes to them, cancellation and churn flags."""
