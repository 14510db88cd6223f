"""The one settings object, built at start-up from environment variables (prefix ``BUDGETKG_``)
and command-line options. Inner code never reads the environment: it takes explicit arguments.

Every field is documented here and in the README's settings table; a test fails if one is not.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_home() -> Path:
    """``$BUDGETKG_HOME`` when set, else ``~/.budgetkg``."""
    return Path.home() / ".budgetkg"


class Settings(BaseSettings):
    """budgetkg's configuration. Environment: ``BUDGETKG_<FIELD>`` (e.g. ``BUDGETKG_HOME``)."""

    model_config = SettingsConfigDict(env_prefix="BUDGETKG_", extra="ignore")

    home: Path = Field(default_factory=default_home,
                       description="Folder holding the graph store, the vector index and uploads.")
    store: str = Field("oxigraph", description="Graph store backend: 'oxigraph' (embedded, on disk under "
                                               "HOME/store), 'memory' (embedded, not persisted) or 'sparql' "
                                               "(a remote SPARQL 1.1 server, see sparql_query_url).")
    sparql_query_url: str | None = Field(None, description="Query endpoint of the remote SPARQL 1.1 server "
                                                           "(store='sparql'), e.g. http://127.0.0.1:7878/query.")
    sparql_update_url: str | None = Field(None, description="Update endpoint of the remote server "
                                                            "(store='sparql'), e.g. http://127.0.0.1:7878/update.")
    sparql_private_query_url: str | None = Field(None, description="Query endpoint of a second remote dataset "
                                                                    "for personal data (store='sparql'); without it "
                                                                    "personal data is not written remotely.")
    sparql_private_update_url: str | None = Field(None, description="Update endpoint of that second dataset.")
    sparql_user: str | None = Field(None, description="HTTP basic-auth user for the remote server, if it needs one.")
    sparql_password: str | None = Field(None, description="HTTP basic-auth password for the remote server.")
    embedding_model: str = Field("use-multilingual", description="Embedding model: 'use-multilingual' (the bundled "
                                                                  "Universal Sentence Encoder) or any sentence-"
                                                                  "transformers model name or local path.")
    embedding_threads: int = Field(1, description="Threads for the embedding model (keep at or below the core count).")
    max_file_bytes: int = Field(50 * 1024 * 1024, description="Largest file `ingest` accepts, in bytes.")
    query_timeout_s: float = Field(10.0, description="Time limit of one SPARQL query on the HTTP endpoint, in "
                                                     "seconds; clients may ask for less, never more.")
    max_result_rows: int = Field(10_000, description="Rows returned by one SPARQL SELECT at most; a capped "
                                                     "result says so.")
    max_query_bytes: int = Field(20_000, description="Longest SPARQL query (or request body) accepted, in bytes.")
    max_upload_bytes: int = Field(20 * 1024 * 1024, description="Largest upload accepted by POST /api/disclosures.")
    admin_token: str | None = Field(None, description="Bearer token that enables POST /api/disclosures; "
                                                      "without one the route is disabled.")
    serve_personal_data: bool = Field(False, description="Serve officials' names and phone numbers (kept in "
                                                         "private graphs) on the public API and endpoint.")
    host: str = Field("127.0.0.1", description="Address `serve` binds to.")
    port: int = Field(8000, description="Port `serve` listens on.")
    public_url: str | None = Field(None, description="Public address of the site (e.g. https://budget.example.org) "
                                                     "used in answers' permalinks; without it the HTTP API uses the "
                                                     "address a request came to and the CLI and MCP server give "
                                                     "relative links.")
    query_workers: int = Field(2, description="Worker processes that evaluate public SPARQL queries (each can "
                                              "be killed at the time limit).")
    request_timeout_s: float = Field(10.0, description="Time limit of one question or search (/api/ask, "
                                                       "/api/search, /api/similar, the web page, and `budgetkg "
                                                       "ask|search|similar`), in seconds; clients may ask for "
                                                       "less (parameter `timeout`, option --timeout), never more.")
    request_concurrency: int = Field(0, description="Questions and searches computed at once in the web "
                                                    "process (0 = the number of CPU cores); more wait in line "
                                                    "within their own time limit.")
    vector_index: Literal["auto", "flat", "ivf-flat", "ivf-sq8", "ivf-pq", "hnsw"] = Field("auto", description="Kind of vector index per item type: 'auto' (exact 'flat' below "
                                                  "vector_exact_limit vectors, 'ivf-flat' below vector_compress_limit, "
                                                  "'ivf-sq8' above), or one of ivf-flat, ivf-sq8, ivf-pq, hnsw for "
                                                  "every space past vector_exact_limit.")
    vector_exact_limit: int = Field(10_000, description="Vectors in one item type's space below which search is "
                                                        "exact (flat); above it the vector_index kind is built.")
    vector_compress_limit: int = Field(500_000, description="With vector_index='auto': vectors above which a space "
                                                            "is stored 8-bit quantised (ivf-sq8, 4x smaller).")
    vector_nprobe: int = Field(16, description="Inverted lists searched per query in IVF indexes (more: higher "
                                              "recall, slower).")
    index_workers: int = Field(0, description="Processes that embed and tokenise during a large index refresh "
                                              "(0 = the number of cores).")
    prefetch_share: float = Field(0.5, ge=0.0, le=1.0,
                                  description="At `serve` start-up, ask the kernel to read the search index's "
                                              "files and then the embedded store's into the page cache in the "
                                              "background, up to this share of the available memory (0 = off), "
                                              "so the first requests after a restart do not wait on the disk.")

    @property
    def store_path(self) -> Path:
        return self.home / "store"

    @property
    def index_path(self) -> Path:
        return self.home / "index"

    def index_options(self):
        """The search index's build options from these settings (``search.index.IndexOptions``)."""
        from search.index import IndexOptions
        from search.vectors import AnnOptions

        return IndexOptions(ann=AnnOptions(kind=self.vector_index, exact_limit=self.vector_exact_limit,
                                           compress_limit=self.vector_compress_limit, nprobe=self.vector_nprobe),
                            workers=self.index_workers)


def load_settings(**overrides) -> Settings:
    """Build the settings from the environment, then apply non-None overrides (CLI options)."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
