"""Printable documents the server renders (PDF): no database, no HTTP; services feed them."""
