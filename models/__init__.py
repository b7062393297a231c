"""Model adapters: embedders, token counting and LLM fact extraction.

Heavy runtimes (onnxruntime, openai) are imported lazily inside the adapters, so importing this
package stays cheap for components that only need the types.
"""

from models.embedder import Embedder, MiniLMOnnxEmbedder, OpenAIEmbedder, build_embedder
from models.llm_extractor import ExtractionOutputError, FallbackExtractor, LLMExtractor
from models.tokens import TokenCounter

__all__ = [
    "Embedder",
    "ExtractionOutputError",
    "FallbackExtractor",
    "LLMExtractor",
    "MiniLMOnnxEmbedder",
    "OpenAIEmbedder",
    "TokenCounter",
    "build_embedder",
]
