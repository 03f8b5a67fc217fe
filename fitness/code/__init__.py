"""Code fitness functions: services' Python, SQL and settings files, read as text.

Nothing here imports or executes the code it checks: Python is parsed with
``ast``, SQL with sqlglot, settings files line by line.
"""
