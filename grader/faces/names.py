"""The face models and detectors deepface accepts by name (``model_name``, ``detector_backend``), listed here so
the CLI offers them as choices without importing deepface. A test keeps them in step with the installed deepface.
"""

FACE_MODELS = (
    "VGG-Face", "Facenet", "Facenet512", "OpenFace", "DeepFace", "DeepID", "Dlib", "ArcFace", "SFace",
    "GhostFaceNet", "Buffalo_L",
)  # fmt: skip
FACE_DETECTORS = (
    "opencv", "ssd", "dlib", "mtcnn", "fastmtcnn", "retinaface", "mediapipe", "yolov8n", "yolov8m", "yolov8l",
    "yolov11n", "yolov11s", "yolov11m", "yolov11l", "yolov12n", "yolov12s", "yolov12m", "yolov12l", "yunet",
    "centerface", "skip",
)  # fmt: skip
