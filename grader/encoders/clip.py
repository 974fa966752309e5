"""CLIP projected image and text embeddings (the vectors whose cosine the CLIP scores use)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from grader.encoders.base import Encoder, batched, projected


class ClipEncoder(Encoder):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from transformers import AutoTokenizer, CLIPConfig

        self.tokenizer = AutoTokenizer.from_pretrained(self.resolved.path)
        config = CLIPConfig.from_pretrained(self.resolved.path)
        self.max_tokens = int(config.text_config.max_position_embeddings)  # type: ignore[union-attr,unused-ignore]  # transformers 4 and 5 type it apart

    def _load(self) -> torch.nn.Module:
        from transformers import CLIPModel

        return CLIPModel.from_pretrained(self.resolved.path)

    def _image_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return projected(self.model.get_image_features(pixel_values=pixel_values))  # type: ignore[operator]

    def too_long(self, texts: Sequence[str]) -> list[str]:
        """Texts over the model's token limit; they are cut to the limit, keeping the end-of-text token."""
        return [t for t in texts if len(self.tokenizer(t)["input_ids"]) > self.max_tokens]

    @torch.inference_mode()
    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        chunks = []
        for batch in batched(list(texts), 64):
            tokens = self.tokenizer(
                list(batch), padding=True, truncation=True, max_length=self.max_tokens, return_tensors="pt"
            ).to(self.device)
            features = self.model.get_text_features(**tokens)  # type: ignore[operator]
            chunks.append(projected(features).float().cpu().numpy())
        return np.concatenate(chunks)
