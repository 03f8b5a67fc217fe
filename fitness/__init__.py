"""fitgate: executable architecture fitness functions for multi-tenant PostgreSQL platforms."""

__version__ = "0.1.0"
