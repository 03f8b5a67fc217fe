"""Probes: real statements, as the services' roles, in transactions that are always rolled back."""
