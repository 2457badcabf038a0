"""The query layer: query specs, the registry of metrics and dimensions, SQL building and running.

`api.run_query(store, site, spec)` is the Python entry the HTTP API, the CLI and the dashboard
share; funnels, retention, journeys, realtime and web vitals have modules of their own. Nothing
here speaks HTTP.
"""
