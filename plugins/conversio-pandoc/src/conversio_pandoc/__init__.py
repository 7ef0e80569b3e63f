"""conversio-pandoc: work in progress (issue 21)."""
