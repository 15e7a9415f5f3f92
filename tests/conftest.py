"""Shared fixtures: a real SMTP server on loopback (aiosmtpd)."""
# tests/ has no __init__.py, so pytest puts tests/ on sys.path.
from smtp_server import smtp_server, smtp_server_factory, tls_files  # noqa: F401
