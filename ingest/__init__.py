"""From files to checked domain objects and RDF: format readers, one parser per layout family,
prose extraction, project merging, accounting checks and the model -> RDF mapper. Imports only
``ontology``."""
