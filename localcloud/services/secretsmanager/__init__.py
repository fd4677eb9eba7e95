"""Secrets Manager: secrets and their values (provision.py)."""
