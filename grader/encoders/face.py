"""Face detection and embedding through deepface's ``represent``, as the face-LoRA course grader calls it."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader.encoders import ProgressCallback
from grader.encoders.specs import FaceEncoder
from grader.errors import InputError, ModelMissingError
from grader.faces.weights import prepare
from grader.images import DecodedImage
from grader.reading import ReadsDecoded
from grader.result import ModelInfo


@dataclass(frozen=True)
class FaceReading:
    """What ``represent`` gave for one image: the first face's embedding (with ``enforce_detection=False``,
    the whole image's when nothing was found), its detection confidence and how many faces were found."""

    embedding: np.ndarray
    confidence: float
    faces: int

    @property
    def has_face(self) -> bool:
        # The course's rule: faceless when the result is empty or its face_confidence is 0.
        return self.faces > 0 and self.confidence != 0


def backend_engine() -> str:
    from deepface.commons.backend_utils import get_backend_engine

    return get_backend_engine()


@contextmanager
def deepface_home(home: Path) -> Iterator[None]:
    """Run deepface against ``home`` (and quietly); the caller's environment is restored afterwards."""
    saved = {k: os.environ.get(k) for k in ("DEEPFACE_HOME", "DEEPFACE_LOG_LEVEL")}
    os.environ["DEEPFACE_HOME"] = str(home)
    os.environ["DEEPFACE_LOG_LEVEL"] = "40"
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class DeepFaceEncoder(ReadsDecoded):
    def __init__(self, spec: FaceEncoder, home: Path | None = None) -> None:
        self.spec = spec
        self.backend = backend_engine()
        self.home = prepare(spec.model, spec.detector, self.backend, home)
        self.readings: dict[Path, FaceReading] = {}
        self._built = False

    @property
    def fingerprint(self) -> str:
        from importlib.metadata import version

        parts = {**self.spec.model_dump(), "backend": self.backend, "deepface": version("deepface")}
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]

    def read(self, image: DecodedImage) -> FaceReading:
        """deepface's reading of one image: handed the pixels it would read from the file itself (cv2.imread),
        from the grade's one decoding; the file only where those could differ (see ``as_opencv``)."""
        path = image.path
        pixels = image.as_opencv()
        with deepface_home(self.home):
            from deepface import DeepFace

            self._build_models(DeepFace)
            try:
                faces = DeepFace.represent(
                    img_path=str(path) if pixels is None else pixels,
                    model_name=self.spec.model,
                    detector_backend=self.spec.detector,
                    enforce_detection=self.spec.enforce_detection,
                    align=self.spec.align,
                    normalization=self.spec.normalization,
                )
            except ValueError as exc:
                if "Face could not be detected" in str(exc):  # only with enforce_detection=True
                    return FaceReading(np.zeros(0), 0.0, 0)
                raise InputError(f"{path}: deepface could not read it: {exc}") from exc
            except Exception as exc:  # the models are built: OpenCV or deepface failing on these pixels
                raise InputError(f"{path}: deepface could not read it ({exc.__class__.__name__}: {exc})") from exc
        if not faces:
            return FaceReading(np.zeros(0), 0.0, 0)
        first = faces[0]
        return FaceReading(
            np.asarray(first["embedding"], dtype=np.float64), float(first["face_confidence"]), len(faces)
        )

    def _build_models(self, deepface) -> None:
        """Build the face model and detector once, before any image: a failure here is a missing or unusable
        model (exit 3); a failure on an image afterwards is that image's problem."""
        if self._built:
            return
        try:
            deepface.build_model(self.spec.model)
            if self.spec.detector != "skip":
                deepface.build_model(self.spec.detector, task="face_detector")
        except (OSError, RuntimeError, ValueError, ImportError) as exc:
            raise ModelMissingError(f"deepface {self.spec.model}/{self.spec.detector}: {exc}") from exc
        self._built = True

    def has_face(self, path: Path) -> bool:
        return self.readings[path].has_face

    def describe(self, labels: list[str]) -> ModelInfo:
        weights = self.home / ".deepface" / "weights"
        model_id = f"deepface {self.spec.model} + {self.spec.detector} detector ({self.backend})"
        return ModelInfo(labels, model_id, str(self.home), str(weights), self.fingerprint, False)

    def cache_extra(self, path: Path) -> str:
        reading = self.readings[path]
        return f"{reading.confidence!r}|{reading.faces}"

    def restore(self, path: Path, vector: np.ndarray, extra: str) -> None:
        confidence, faces = extra.split("|")
        embedding = np.asarray(vector, dtype=np.float64)
        self.readings[path] = FaceReading(embedding, float(confidence), int(faces))

    def encode_decoded(self, images: Sequence[DecodedImage], progress: ProgressCallback | None = None) -> list:
        """Embeddings of each image's first face (empty when enforce_detection found none); ``self.readings``
        keeps the detections."""
        vectors = []
        for image in images:
            reading = self.read(image)
            self.readings[image.path] = reading
            vectors.append(reading.embedding)
            if progress:
                progress(1)
        return vectors
