"""The root mutation fields, one module per area; ``resolvers.api`` merges them."""
