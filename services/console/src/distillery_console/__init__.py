"""The operator console: a read model built from the topics, served as web pages."""
