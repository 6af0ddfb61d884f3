"""The JSON API for other systems (the city's grid platform, meeting platforms): FastAPI in its own process,
calling the same domain functions as the pages and the CLI. Start it with ``gridwise api`` or
``python -m api``; the OpenAPI document is at /api/v1/openapi.json and its docs page at /api/v1/docs."""
