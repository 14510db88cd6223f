"""Format readers turning PDF and DOCX files into ``SourceText`` in the tab-separated layout, with
the page of every line, and the guards that refuse bad files before they are read."""
