"""The public licence register (issue #7 items 4, 6, 7; PL-1…PL-5, PR-8).

=====================  =====================================================================
:mod:`.model`          entries and their statuses (active, suspended, revoked, expired), search
                       and paging, the officers' status changes (audit chain), the daily
                       expiry job, and the index of issued documents ``/verify`` reads
:mod:`.values`         one register field: kept as printed, shown in Thai and English,
                       exported as a plain cell and read back
:mod:`.exports`        CSV (UTF-8 with BOM), XLSX and JSON with the same columns; a CKAN
                       ``package_create`` description and DCAT JSON-LD
:mod:`.backfill`       ``eservice register import``: historical licences from CSV or XLSX
:mod:`.commands`       ``eservice register export`` and ``import``, with a progress bar
=====================  =====================================================================

A licence enters the register through the workflow's ``publish`` effect: once
the transition is saved, :func:`after_transition` keeps exactly the fields the
licence's ``register`` lists (form fields and calculations), nothing else of
the application.  The pages are :mod:`eservice.web.register` and
:mod:`eservice.web.verify`.
"""
from __future__ import annotations

from .model import ACTIONS, STATUS_TEXT, STATUSES, Page, Register, after_transition, effective_status, entry_id

__all__ = ["ACTIONS", "STATUSES", "STATUS_TEXT", "Page", "Register", "after_transition", "effective_status",
           "entry_id"]
