"""adsgen: crash-statistics-grounded generation and execution of high-risk ADS test scenarios."""

__version__ = "0.1.0"

__all__ = ["__version__"]
