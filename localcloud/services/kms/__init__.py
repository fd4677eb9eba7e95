"""KMS: keys (provision.py)."""
