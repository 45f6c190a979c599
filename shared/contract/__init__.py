"""The HTTP contract between stations and the server: pydantic models both sides import."""

API_PREFIX = "/api/v1"
PROBLEM_BASE = "urn:packline:problem:"
