"""The administration pages: agency staff (staff.py) and the installation (system.py), issue #9."""
