"""One parser per layout family of extracted disclosure text (PDF text, Markdown/TSV, DOCX text),
all returning ``ingest.model.Disclosure``; shared table interpretation lives in ``table_*``."""
