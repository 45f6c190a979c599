"""ZPL label builders shared by the bench and the server."""
