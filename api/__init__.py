"""The top layer: settings, the CLI, the FastAPI application and the wiring between ``ingest`` and
``search``."""
