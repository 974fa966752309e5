"""Thin encoders over transformers: images (and texts) in, L2-unnormalised embeddings out."""

from grader.encoders.base import Encoder, ProgressCallback
from grader.encoders.factory import build_encoder

__all__ = ["Encoder", "ProgressCallback", "build_encoder"]
