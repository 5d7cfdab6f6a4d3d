"""The root mutation fields' work, one module per area; ``schema.mutations`` calls it."""
