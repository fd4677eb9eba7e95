"""Step Functions: state machines (provision.py) run by moto's interpreter with localcloud's fixes
(patches.py)."""
