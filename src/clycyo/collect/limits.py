"""Size limits of the collect API, in one place so the docs, the decoder and the tests agree.

Changing a value here changes the public behaviour documented in `docs/collecting.md`.
"""

from __future__ import annotations

MAX_BODY_BYTES = 512 * 1024  # a request body as sent (compressed or not); larger is 413
MAX_INFLATED_BYTES = 2 * 1024 * 1024  # a gzip body once inflated; larger is 413
# A request's headers are due this long after the connection opens (or the previous answer), its
# body this long after its headers; else 408. The default of CLYCYO_CLIENT_TIMEOUT.
MAX_BODY_READ_S = 30
MAX_BATCH_EVENTS = 500  # events in one batch; larger is 413
MAX_NAME_CHARS = 200  # event name
MAX_ID_CHARS = 200  # event_id, visitor_id, user_id, session_id, order_id
MAX_URL_CHARS = 4096  # url and referrer
MAX_TEXT_CHARS = 2000  # title, locale, screen, user agent and other free text
MAX_PROPS = 50  # keys in props (and in traits)
MAX_PROP_KEY_CHARS = 100
MAX_PROP_VALUE_CHARS = 2000
MAX_BACKDATE_PUBLIC_S = 24 * 3600  # how far back a browser (public key) may place an event
MAX_AMOUNT = 10**12  # absolute revenue amount
