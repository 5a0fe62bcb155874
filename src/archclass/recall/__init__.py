"""The associative-recall experiment."""
