"""DINOv2 image embeddings: the layer-normed CLS token (``Dinov2Model.pooler_output``)."""

from __future__ import annotations

import torch

from grader.encoders.base import Encoder


class Dinov2Encoder(Encoder):
    def _load(self) -> torch.nn.Module:
        from transformers import Dinov2Model

        return Dinov2Model.from_pretrained(self.resolved.path)

    def _image_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.model(pixel_values=pixel_values).pooler_output
