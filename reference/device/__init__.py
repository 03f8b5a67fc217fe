"""The device service: devices per tenant and the X.509 certificates bound to them.

Not built yet (issue 3): its migrations, seed step and app come in this package.
Until then the installer creates its roles and an empty ``device`` schema, and
``fitgate serve all`` leaves it out.
"""
