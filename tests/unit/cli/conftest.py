from tests.unit.client.fake_server import fake_server, isolated_config

__all__ = ["fake_server", "isolated_config"]
