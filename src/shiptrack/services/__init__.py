"""The request use cases of the API and the CLI: accounts, carrier connections, tracking,
webhooks and their deliveries. Nothing here knows about HTTP; each use case is a class built by
the composition root (``shiptrack.app``) with what it uses."""
