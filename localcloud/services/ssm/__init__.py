"""SSM: documents such as runbooks (provision.py)."""
