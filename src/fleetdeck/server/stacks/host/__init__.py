"""The plain-host applier: a stack's services as containers on one node, through its agent.

:mod:`.applier` implements the :mod:`fleetdeck.server.stacks.plan` contract; :mod:`.spec`
turns a Compose service into container specs, :mod:`.plan` and :mod:`.converge` decide what
to create, replace or remove, :mod:`.rollout` replaces replicas one by one (health-gated,
zero downtime), :mod:`.node` is the typed view of the node's agent and :mod:`.progress`
reports each step. Nothing here knows about Swarm.
"""
