"""archclass: the Efficiency-Compactness-Recall classifier for long-context sequence architectures."""

__version__ = "0.1.0"
