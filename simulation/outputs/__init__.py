"""What a run writes: the named reporters (`metrics`), the report, the figures, the output folders."""
