"""The Swarm applier: a stack as Swarm services, networks, configs and secrets of one Swarm.

:mod:`.applier` implements the :mod:`fleetdeck.server.stacks.plan` contract; :mod:`.spec`
(with :mod:`.defaults`) turns a Compose file into Swarm specs, :mod:`.desired` holds the
wanted objects, :mod:`.compare` and :mod:`.converge` decide what changes, :mod:`.provision`
creates networks/configs/secrets, :mod:`.cleanup` removes what the stack no longer names,
:mod:`.objects` reads what the Swarm has and :mod:`.stalls` notices updates that stop moving.
Nothing here knows about plain hosts.
"""
