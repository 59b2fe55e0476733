"""The aggregate comparison: collect every model's metrics, rank them, draw the charts and write the report."""
