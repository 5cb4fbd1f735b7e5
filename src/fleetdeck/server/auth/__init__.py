"""Authentication and authorisation: passwords, users, sessions, API tokens, roles, throttling.

Routes depend on :func:`fleetdeck.server.auth.deps.require`; everything else here is the
machinery behind it and behind the ``/auth``, ``/users`` and ``/tokens`` routes.
"""
