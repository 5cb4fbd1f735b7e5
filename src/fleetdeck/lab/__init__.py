"""A real multi-host Docker fleet on one Linux machine (network namespaces + real dockerd)."""

from fleetdeck.lab.manager import Lab
from fleetdeck.lab.state import LabRecord, LabSettings, NodeRecord

__all__ = ["Lab", "LabRecord", "LabSettings", "NodeRecord"]
