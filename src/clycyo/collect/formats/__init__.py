"""Other analytics clients' wire formats (CONTRACT §3): Segment/RudderStack, PostHog, Plausible.

Each format module turns its clients' bodies into Clycyo's own `EventIn` values; `endpoint.py`
runs the HTTP exchange they share and `routes.py` lists the paths they answer. Nothing here
decides what an event means: the pipeline does, exactly as for `POST /api/collect`.
"""
