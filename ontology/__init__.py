"""The budget ontology: Turtle files (ontology, SHACL shapes, SKOS code lists, topics) and the
Python names of its terms. Every other layer imports from here; this package imports nothing of
the project."""
from pathlib import Path

ONTOLOGY_DIR = Path(__file__).parent
