"""Receivers for other services' events (Stripe), turned into Clycyo server events."""
