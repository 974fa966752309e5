"""Faces through deepface: a weights folder the grader owns, and the face encoder."""
