"""FastAPI routers, one per resource: SPARQL endpoint, search/ask, disclosures, findings, health, pages."""
