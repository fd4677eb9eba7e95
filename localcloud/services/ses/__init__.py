"""SES (v2): email identities (provision.py); moto keeps every email sent."""
