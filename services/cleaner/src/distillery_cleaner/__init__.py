"""The cleaner: turns raw generations into training examples, with a reason for every drop."""

__version__ = "0.1.0"
