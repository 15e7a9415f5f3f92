"""Licences, letters and notices: rendered, signed, stored and delivered (issue #7).

R: A-L1…A-L5 (officers add data for the draft, the system drafts it, the
signing authority signs electronically, the electronic licence is produced),
IS-1/IS-2 (documents are files signed with the agency's organisation
certificate), IS-3, A-D1, A-D2 (delivered through the e-Service and by e-mail).

The workflow's effects call this package through ``EngineContext.outputs``
(an :class:`Outputs`); the engine itself has no PDF code:

=====================  =========================================================
``draft_licence: X``   records the draft and the officer's inputs (A-L1); the
                       officers preview it as a PDF marked "ร่าง / DRAFT" (A-L3)
``sign_licence: X``    takes the next number, renders the template, signs it
                       (PAdES B-T with ``ESERVICE_TSA_URL``, else B-B; visible
                       stamp; QR code) and stores the PDF (A-L4, A-L5)
``issue_letter: X``    the same for a letter or notice (no number)
=====================  =========================================================

A failure (no keys, a template error, the time-stamp service down) raises
:class:`OutputError`: the transition is refused with the reason in Thai and
English, and nothing is recorded.  A document is never issued unsigned.

Templates (``outputs.licences[].template``, ``outputs.letters[].template``)
are HTML files beside the definition, rendered in the Jinja2 sandbox with
strict names.  Each extends the agency's ``letterhead.html``, which extends
the platform's ``eservice/issued.html`` (the signature stamp's place and the QR
code).  What a template can use:

=====================  =========================================================
``document``           ``id``, ``kind`` (licence | letter), ``title`` {th, en}, ``draft``
``application``        ``id``, ``reference``, ``intake_number``, ``intake_at_th``/``_en``,
                       ``submitted_at_th``/``_en``
``answers``            the applicant's answers, by field id (as stored: dates ISO,
                       addresses ``{line, subdistrict, district, province, postcode}``)
``calculations``       the definition's calculations, by id
``input``              the officer's inputs of the transition that issues it
                       (reasons, conditions, deadlines)
``licence``            licences only: ``id``, ``title``, ``number``, ``issued_on``
                       (+ ``_th``/``_en``), ``valid_until`` (+ ``_th``/``_en`` when the
                       licence has ``validity``), ``inputs`` (given when it was drafted)
``issued_on_th``/``_en``  the day of issue, "23 มกราคม 2566" / "23 January 2023"
``valid_until_th``/``_en``  licences with ``validity`` (the day before the anniversary)
``agency``             ``code``, ``name``, ``parent``, ``address`` ({th, en} or None),
                       ``phone``, ``email``, ``website``
``service``            ``id``, ``version``, ``title``
``signer``             ``name`` (the officer who signs), ``position`` {th, en}
                       (the output's ``signed_as``, else "ผู้มีอำนาจลงนาม")
``verify_url``         ``<base>/verify?licence=<number>`` (letters: ``?document=<id>``),
                       the public verification page (:mod:`eservice.web.verify`)
``verify_page``        ``<base>/verify`` (to print beside the number)
``verify_qr``          that link as a QR code (an SVG ``data:`` URL; None in a draft)
=====================  =========================================================

Filters: ``thai_date``, ``thai_datetime``, ``english_date``, ``english_datetime``,
``thai_digits``, ``display``, ``pick`` (:mod:`eservice.renderers.pdf`).
"""
from __future__ import annotations

from .check import template_problems
from .context import document_context, valid_until
from .deliver import find_issued, issued_documents, may_download
from .errors import OutputError
from .issue import Issued, Outputs
from .sign import AgencySigners

__all__ = ["AgencySigners", "Issued", "OutputError", "Outputs", "document_context", "find_issued",
           "issued_documents", "may_download", "template_problems", "valid_until"]
