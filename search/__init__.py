"""The graph store behind one interface (embedded Oxigraph or a remote SPARQL server) and search
over it: embeddings, vector and lexical indexes, policy topics, question answering. Imports only
``ontology``."""
