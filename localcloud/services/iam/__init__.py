"""IAM: roles, policies and attachments (provision.py)."""
