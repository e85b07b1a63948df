"""`distillery demo`: the whole loop on one machine, with sandboxes standing in for vendors."""
