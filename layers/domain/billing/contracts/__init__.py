"""An account's contract over time: its terms by month, changes to them and cancellation."""
