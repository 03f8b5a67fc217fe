"""Domain events: the event-completeness fitness function, history and point-in-time reads,
and legacy backfill, all generic over the event contract (see docs/EVENTS.md)."""
