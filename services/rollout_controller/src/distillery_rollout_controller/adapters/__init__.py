"""The controller's tables and the repositories over them."""
