"""Field data: metric registry and summary, imports, the event closed loop, rentals, data quality."""
