"""Route 53: hosted zones and records (provision.py)."""
