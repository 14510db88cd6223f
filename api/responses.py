"""The JSON response class of the API: document text can never be read as markup.

``<``, ``>`` and ``&`` inside strings are written as ``\\u003c``-style escapes (the same JSON value),
so a project named ``<script>…`` stays inert even if some client renders a response as HTML.
"""
from __future__ import annotations

from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from api.sparql_results import safe_json


class SafeJSONResponse(JSONResponse):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return safe_json(jsonable_encoder(content))
