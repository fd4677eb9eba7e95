"""pulumi-random: RandomPassword, generated locally as the provider does (provision.py)."""
