"""Use cases: the rules and transactions of the application."""
