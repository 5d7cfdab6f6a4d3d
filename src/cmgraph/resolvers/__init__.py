"""Thin GraphQL resolvers and per-request DataLoaders: no business rules here."""
