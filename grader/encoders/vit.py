"""ViT image embeddings: the last layer's CLS token (DINO v1 ``facebook/dino-vits16``, as DreamBench uses)."""

from __future__ import annotations

import torch

from grader.encoders.base import Encoder


class VitEncoder(Encoder):
    def _load(self) -> torch.nn.Module:
        from transformers import ViTModel

        return ViTModel.from_pretrained(self.resolved.path, add_pooling_layer=False)

    def _image_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.model(pixel_values=pixel_values).last_hidden_state[:, 0]
