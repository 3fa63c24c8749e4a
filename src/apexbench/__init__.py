"""apexbench: benchmark facial-expression classifiers on micro-expression datasets."""

__version__ = "0.1.0"
