"""Stacks: Compose applications deployed, updated and rolled back on hosts and Swarms.

:mod:`.plan` is the contract between the stack service and the two appliers (plain host,
Swarm).
"""
