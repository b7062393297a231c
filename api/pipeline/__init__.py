"""``/v1/admin/pipeline``: what the dashboard's pipeline page shows (consumer lag, projection targets, dead letters)."""
