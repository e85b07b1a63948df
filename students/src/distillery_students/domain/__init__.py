"""Pure parts of the student library: template, labels, dataset lines, settings, model card (no I/O, no torch)."""
