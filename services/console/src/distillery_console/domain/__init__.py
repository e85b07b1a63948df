"""What the console decides on its own: cycle phases, savings, answer differences, charts."""
