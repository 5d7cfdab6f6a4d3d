"""Alert policies, alerts, the notification outbox and mail delivery (DOMAIN.md section 12)."""
