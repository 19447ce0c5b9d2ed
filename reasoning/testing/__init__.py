"""Test support that ships with the package: a scriptable OpenAI-compatible stub server.

Fakes, not mocks: tests run the real litellm client over real HTTP against :class:`StubServer`.
"""

from reasoning.testing.stub_server import StubReply, StubServer

__all__ = ["StubReply", "StubServer"]
