"""Agency and system administration pages (issue #9): staff, system, services."""
