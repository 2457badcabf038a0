"""The revenue ledger: money events as one row per order, in the site's reporting currency."""
