"""Fault injection for LAPOR (`make chaos`; a short run inside `make test`): see chaos/harness.py."""
