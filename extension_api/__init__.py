"""Routes for the browser extension and other third-party clients, mounted in the core app."""
