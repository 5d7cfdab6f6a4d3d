"""The business rules: entities, scoring, permissions and the services that change state."""
