"""The one guard in front of every outbound HTTP request to a URL a user controls.

Webhook URLs and carrier ``base_url`` values are judged by the pure
:class:`~shiptrack.domain.outbound.OutboundPolicy` twice:

- when they are saved (:func:`~shiptrack.outbound.destinations.check_destination`): a refused
  host, or a name resolving to any refused address, is a ``400`` naming the field;
- at every dial (:func:`~shiptrack.outbound.client.guarded_session`): before anything is sent
  (the host the client will dial, after its own IDNA normalisation), by the resolver (refused
  answers are dropped, so DNS rebinding finds nothing to dial) and at the socket (the exact address
  about to be connected to), the last line of defence. Redirects are never followed.
"""
