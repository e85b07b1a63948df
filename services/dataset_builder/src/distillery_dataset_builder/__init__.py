"""The dataset-builder: accepted examples in, validated and versioned training sets out."""

__version__ = "0.1.0"
