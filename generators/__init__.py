"""Thin generator adapters over diffusers that write submissions in exactly the layout the grader reads."""
