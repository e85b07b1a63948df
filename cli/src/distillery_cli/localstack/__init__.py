"""The local stack: a Tansu broker and (unless a database URL is given) an embedded PostgreSQL."""
