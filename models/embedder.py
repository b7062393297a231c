"""Text embedders: one Protocol, a local MiniLM (default, offline) and an OpenAI-compatible client.

Every embedder returns float32 rows of unit length, so cosine similarity is a dot product and the
vector index can use inner-product search whichever backend produced the vectors.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from models.assets import MINILM_DIM, MINILM_MODEL_NAME, minilm_onnx_path, minilm_tokenizer_path

if TYPE_CHECKING:
    import onnxruntime as ort
    from openai import OpenAI
    from tokenizers import Tokenizer

    from memory.settings import Settings

log = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to L2-normalised float32 vectors of shape ``(len(texts), dim)``."""

    @property
    def model_name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> Vectors: ...


def _check_texts(texts: Sequence[str]) -> list[str]:
    # A bare str is itself a Sequence[str]; embedding it would silently yield one vector per character.
    if isinstance(texts, str):
        raise TypeError("embed() takes a sequence of texts, not a single str")
    return list(texts)


def l2_normalise(rows: npt.NDArray[Any]) -> Vectors:
    """Unit-length float32 rows; an all-zero row stays zero instead of becoming NaN."""
    rows32 = np.asarray(rows, dtype=np.float32)
    norms = np.linalg.norm(rows32, axis=1, keepdims=True)
    normalised: Vectors = (rows32 / np.maximum(norms, np.float32(1e-12))).astype(np.float32, copy=False)
    return normalised


class MiniLMOnnxEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime: the sentence-transformers pipeline without PyTorch.

    WordPiece tokens truncated to ``max_length`` (256, the model's sentence-transformers setting),
    mean pooling over the attention mask, then L2 normalisation. The session and tokenizer load on
    first use, so building the embedder (e.g. at import of a service) costs nothing.
    """

    def __init__(
        self,
        *,
        intra_op_threads: int = 2,
        spinning: bool = True,
        batch_size: int = 32,
        max_length: int = 256,
        model_path: Path | None = None,
        tokenizer_path: Path | None = None,
    ) -> None:
        if intra_op_threads < 1 or batch_size < 1 or max_length < 2:
            raise ValueError("intra_op_threads and batch_size must be >= 1, max_length >= 2")
        self._intra_op_threads = intra_op_threads
        self._spinning = spinning
        self._batch_size = batch_size
        self._max_length = max_length
        self._model_path = model_path
        self._tokenizer_path = tokenizer_path
        self._session: ort.InferenceSession | None = None
        self._tokenizer: Tokenizer | None = None
        self._needs_token_type_ids = False
        self._lock = threading.Lock()

    @property
    def model_name(self) -> str:
        return MINILM_MODEL_NAME

    @property
    def dim(self) -> int:
        return MINILM_DIM

    def _load(self) -> tuple[ort.InferenceSession, Tokenizer]:
        with self._lock:
            if self._session is None or self._tokenizer is None:
                import onnxruntime as ort
                from tokenizers import Tokenizer

                tokenizer = Tokenizer.from_file(str(self._tokenizer_path or minilm_tokenizer_path()))
                # The shipped tokenizer.json pads every input to a fixed 128 and truncates at 128;
                # we truncate at the model's 256 and pad ourselves, per sub-batch, to its longest row.
                tokenizer.no_padding()
                tokenizer.enable_truncation(max_length=self._max_length)

                options = ort.SessionOptions()
                options.intra_op_num_threads = self._intra_op_threads
                options.inter_op_num_threads = 1
                options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                options.log_severity_level = 3  # keep onnxruntime's optimiser warnings out of our logs
                if not self._spinning:
                    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                session = ort.InferenceSession(
                    str(self._model_path or minilm_onnx_path()),
                    sess_options=options,
                    providers=["CPUExecutionProvider"],
                )
                # This export declares token_type_ids as a required input; feed zeros (single segment).
                self._needs_token_type_ids = any(i.name == "token_type_ids" for i in session.get_inputs())
                self._tokenizer, self._session = tokenizer, session
            return self._session, self._tokenizer

    def embed(self, texts: Sequence[str]) -> Vectors:
        batch = _check_texts(texts)
        out = np.empty((len(batch), MINILM_DIM), dtype=np.float32)
        if not batch:
            return out
        session, tokenizer = self._load()
        encodings = tokenizer.encode_batch(batch)
        # Sort by length so each sub-batch pads to similar lengths: attention over padding is wasted
        # work. Attention and pooling are masked, so a vector does not depend on its batch neighbours
        # (up to float rounding; identical in our tests).
        order = sorted(range(len(batch)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), self._batch_size):
            chunk = order[start : start + self._batch_size]
            width = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.int64)
            for row, i in enumerate(chunk):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            feeds = {"input_ids": ids, "attention_mask": mask}
            if self._needs_token_type_ids:
                feeds["token_type_ids"] = np.zeros_like(ids)
            hidden = np.asarray(session.run(["last_hidden_state"], feeds)[0], dtype=np.float32)
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            out[chunk] = l2_normalise(pooled)
        return out


class OpenAIEmbedder:
    """Any OpenAI-compatible ``/v1/embeddings`` endpoint, batched, vectors re-normalised locally.

    ``dim`` may be given (then every response is checked against it, since the vector index was
    created with that width) or learnt from the first response.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str,
        dim: int | None = None,
        batch_size: int = 64,
        timeout_s: float = 30.0,
        max_retries: int = 2,
        send_dimensions: bool = False,
        client: OpenAI | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if send_dimensions and dim is None:
            raise ValueError("send_dimensions needs dim")
        if client is None:
            from openai import OpenAI

            client = OpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=max_retries)
        self._client = client
        self._model = model
        self._dim = dim
        self._batch_size = batch_size
        # Off by default: text-embedding-3-* honour `dimensions`, but several compatible servers reject it.
        self._send_dimensions = send_dimensions

    @property
    def model_name(self) -> str:
        return self._model

    @property
    def dim(self) -> int:
        if self._dim is None:
            # Unknown until the server has told us; one probe request is the only way to find out.
            self.embed(["dimension probe"])
        assert self._dim is not None
        return self._dim

    def embed(self, texts: Sequence[str]) -> Vectors:
        batch = _check_texts(texts)
        if not batch:
            return np.empty((0, self._dim or 0), dtype=np.float32)
        parts = [self._embed_batch(batch[i : i + self._batch_size]) for i in range(0, len(batch), self._batch_size)]
        return np.concatenate(parts, axis=0)

    def _embed_batch(self, texts: list[str]) -> Vectors:
        # The OpenAI API rejects empty strings; a single space embeds as "no content" instead of failing.
        inputs = [t if t else " " for t in texts]
        extra: dict[str, Any] = {"dimensions": self._dim} if self._send_dimensions else {}
        response = self._client.embeddings.create(model=self._model, input=inputs, encoding_format="float", **extra)
        # The API does not promise response order; `index` is authoritative.
        rows = sorted(response.data, key=lambda d: d.index)
        if len(rows) != len(inputs):
            raise ValueError(f"embedding endpoint returned {len(rows)} vectors for {len(inputs)} inputs")
        matrix = np.asarray([r.embedding for r in rows], dtype=np.float32)
        if matrix.ndim != 2:
            raise ValueError("embedding endpoint returned vectors of different lengths")
        if self._dim is None:
            self._dim = int(matrix.shape[1])
        elif matrix.shape[1] != self._dim:
            raise ValueError(f"model {self._model!r} returned dim {matrix.shape[1]}, configured {self._dim}")
        return l2_normalise(matrix)


def build_embedder(settings: Settings, for_queries: bool = False) -> Embedder:
    """OpenAI-compatible endpoint when ``embedding_base_url`` is set, otherwise the offline MiniLM.

    ``for_queries``: the API embeds one short query per search while its retrievers, PostgreSQL, Neo4j and
    Milvus want the same two cores; one onnxruntime thread that sleeps when idle (instead of two spinning)
    leaves them the other core. The pipeline's batches keep both threads."""
    if settings.embedding_base_url:
        return OpenAIEmbedder(
            base_url=settings.embedding_base_url,
            api_key=settings.embedding_api_key,
            model=settings.embedding_model,
            dim=settings.embedding_dim,
            batch_size=settings.embed_batch_size,
        )
    # The local model has one name and one width; a mismatch means the vector index and the
    # embedder disagree, which must stop start-up rather than corrupt the index.
    if settings.embedding_model != MINILM_MODEL_NAME or settings.embedding_dim != MINILM_DIM:
        raise ValueError(
            f"no embedding_base_url set, so the local {MINILM_MODEL_NAME} ({MINILM_DIM} dims) is used, "
            f"but settings ask for {settings.embedding_model!r} with {settings.embedding_dim} dims"
        )
    return MiniLMOnnxEmbedder(intra_op_threads=1, spinning=False) if for_queries else MiniLMOnnxEmbedder()
