"""The license service: plans, licenses per tenant and seat assignments.

Not built yet (issue 3): its migrations, seed step and app come in this package.
Until then the installer creates its roles and an empty ``license`` schema, and
``fitgate serve all`` leaves it out.
"""
