"""Fake carrier servers and webhook receivers: real HTTP on 127.0.0.1, answering as documented."""
