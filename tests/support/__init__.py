"""Real services the tests start themselves: PostgreSQL from Debian's packages, and fake SaaS
APIs (Stripe, HubSpot) on loopback that speak the real wire format."""
