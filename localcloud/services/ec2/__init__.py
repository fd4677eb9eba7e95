"""EC2: VPCs only, which private hosted zones name (provision.py)."""
