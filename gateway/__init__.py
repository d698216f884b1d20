"""carehub: the in-home safety gateway."""

__version__ = "0.1.0"
