"""The operations console: pages over the same ops APIs the `fulfil` command uses."""
