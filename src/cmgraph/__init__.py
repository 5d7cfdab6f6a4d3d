"""cmgraph: a self-hosted compliance management server with a GraphQL API."""

__version__ = "0.1.0"
