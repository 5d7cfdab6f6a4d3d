"""Strawberry types, inputs, enums, connections and the schema builder."""
