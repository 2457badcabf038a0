"""The dashboard: server-rendered views over the query layer, each with a `.json` twin."""
