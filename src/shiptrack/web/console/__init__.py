"""The operator console (``/console``): an account's packages, webhooks and carriers, signed in
with one of its API keys."""
