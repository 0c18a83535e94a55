"""Centro 311 web application."""
