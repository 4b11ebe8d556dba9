"""The tracking engine: checking packages, receiving pushes, sending webhooks, and the loops
that run them."""
