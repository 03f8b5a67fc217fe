"""The reference platform's load scenarios (locust): one user class per service in ``services/``."""
