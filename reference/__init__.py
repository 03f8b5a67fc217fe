"""The reference platform: four services on one shared PostgreSQL, built to the rules fitgate checks."""
