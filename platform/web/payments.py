"""Paying fees through the web (issue #8; A-P1, A-P3, A-P4, A-P6, PR-12).

Routes (names for ``url()``):

===============================================================  ==========================  =============================
``GET  /applications/{app_id}/payment/qr.png``                   ``payment_qr``              the notice's Thai QR (PNG)
``POST /applications/{app_id}/payment/proof``                    ``payment_proof_upload``    the applicant sends a proof
``GET  /applications/{app_id}/payment/proofs/{proof_id}``        ``payment_proof_file``      the proof's file
``POST /officer/applications/{app_id}/payment/counter``          ``officer_payment_counter`` finance: counter or cash
``POST /officer/applications/{app_id}/payment/proofs/{proof_id}/{decision}``  ``officer_payment_proof``  accept/refuse
``GET  /officer/{agency}/payments``                     ``officer_payments``        finance: to verify, flagged
``POST /payments/webhook/{provider}``                            ``payment_webhook``         a provider's signed callback
===============================================================  ==========================  =============================

The status page and the officers' application page show the notice with
:mod:`eservice.web.payment_panels`.  Another person's
application answers 404.  Officers' actions need the policy action
``verify_payment`` and are written to the audit log.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ..engine import EngineError
from ..payments import qr
from ..payments.ledger import PAYMENTS
from ..payments.proofs import PROOF_DOCUMENT, accept_proof, record_counter, refuse_proof, settle_flagged, \
    submit_proof
from ..policy import allowed
from ..renderers.html import render
from .apply import app_url, load_own, see_other
from .context import get_context
from .deps import current_user, engine, login_redirect
from .i18n import get_lang, pick
from .officer import _app_url, _audit, _load, _signed_in, flash
from .payment_panels import FLAGS, work

__all__ = ["routes"]

# ------------------------------------------------------------------ the applicant
async def qr_image(request: Request) -> Response:
    if current_user(request) is None:
        return login_redirect(request)
    record, service = _own_or_officer(request)
    notice = record.get("payment_notice") or {}
    payload = qr.for_agency(service.agency, notice["ref1"], notice["ref2"], notice["amount"]) \
        if notice.get("status") == "open" else None
    if not payload:
        raise HTTPException(404)
    return Response(qr.png(payload), media_type="image/png", headers={"Cache-Control": "private, no-store"})


def _own_or_officer(request: Request) -> tuple[dict, Any]:
    from .deps import current_actor

    actor = current_actor(request)
    app_id = request.path_params["app_id"]
    store = get_context(request).store
    try:
        record = store.get_application(app_id)
    except Exception:
        raise HTTPException(404) from None
    if record.get("applicant") != actor.user_id and not (actor.is_officer and allowed(actor, "view_application",
                                                                                           record)):
        raise HTTPException(404)
    return record, engine(request).service_of(record)


async def proof_upload(request: Request) -> Response:
    if current_user(request) is None:
        return login_redirect(request)
    from .. import documents
    from .track import _status_view

    record, service, actor = load_own(request, request.path_params["app_id"])
    lang = get_lang(request)
    form = await request.form(max_files=1)
    try:
        upload = form.get("file")
        note = str(form.get("note") or "").strip()
        if not hasattr(upload, "read") or not (upload.filename or upload.size):
            return _status_view(request, record, service, actor, status_code=422, error_href="#payment-proof",
                                error=pick(lang, "กรุณาเลือกไฟล์หลักฐานการชำระเงินก่อนกดส่ง",
                                           "Choose the file of your proof of payment before sending"))
        data = await upload.read()
        try:
            stored = await run_in_threadpool(documents.store_upload, get_context(request).files, data,
                                             upload.filename or "", PROOF_DOCUMENT)
            await run_in_threadpool(submit_proof, engine(request), record["id"], actor, stored, note)
            _audit(request, actor, "payment.proof_upload", record, {"sha256": stored["sha256"]})
        except EngineError as exc:
            if exc.status == 404:
                raise HTTPException(404) from None
            record, service, actor = load_own(request, record["id"])
            return _status_view(request, record, service, actor, error=exc.text(lang), error_href="#payment-proof",
                                status_code=exc.status if 400 <= exc.status < 500 else 422)
    finally:
        await form.close()
    return see_other(app_url(record["id"], "/status") + "#payment")


async def proof_file(request: Request) -> Response:
    if current_user(request) is None:
        return login_redirect(request)
    record, _ = _own_or_officer(request)
    proof = next((p for p in record.get("payment_proofs") or [] if p["id"] == request.path_params["proof_id"]), None)
    if proof is None:
        raise HTTPException(404)
    file = proof["file"]
    data = await run_in_threadpool(get_context(request).files.get, file["sha256"])
    return Response(data, media_type=file["media_type"],
                    headers={"Content-Disposition": f'attachment; filename="{file["filename"]}"',
                             "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


# ------------------------------------------------------------------ the finance officer
def _done(request: Request, record: Mapping[str, Any]) -> Response:
    return RedirectResponse(_app_url(request, record["id"]) + "#payment", status_code=303)


def _refused(request: Request, actor: Any, record: Mapping[str, Any], exc: EngineError) -> Response:
    from .officer import _render_application

    if exc.status == 404:
        raise HTTPException(404)
    current = get_context(request).store.get_application(record["id"])
    return _render_application(request, actor, current, status_code=exc.status if exc.status < 500 else 409,
                               form_state={"error": {"th": exc.th, "en": exc.en}, "fields": {}})


async def counter(request: Request) -> Response:
    actor = _signed_in(request)
    if isinstance(actor, Response):
        return actor
    record = _load(request, actor)
    form = await request.form()
    try:
        outcome = await run_in_threadpool(
            record_counter, engine(request), record["id"], actor, method=str(form.get("method") or ""),
            receipt_ref=str(form.get("receipt_ref") or ""), amount=str(form.get("amount") or ""))
    except EngineError as exc:
        return _refused(request, actor, record, exc)
    _audit(request, actor, "payment.counter", record, {"payment": outcome.payment["id"], "applied": outcome.applied,
                                                       "flag": outcome.flag, "duplicate": outcome.duplicate})
    _flash(request, outcome)
    return _done(request, record)


def _flash(request: Request, outcome: Any) -> None:
    receipt = (outcome.payment.get("receipt") or {}).get("number")
    if outcome.duplicate:
        flash(request, "warning", "บันทึกการชำระนี้ไว้แล้ว ไม่ได้บันทึกซ้ำ", "This payment was recorded before; nothing new.")
    elif outcome.applied:
        flash(request, "success", f"บันทึกการชำระเงินแล้ว ออกใบเสร็จ {receipt}", f"Payment recorded; receipt {receipt}.")
    else:
        flag = FLAGS.get(outcome.flag or "", {"th": outcome.flag, "en": outcome.flag})
        flash(request, "warning", f"บันทึกการชำระเงินไว้แต่ยังไม่นำไปใช้: {flag['th']}",
              f"Payment kept but not applied: {flag['en']}.")


async def proof_decision(request: Request) -> Response:
    actor = _signed_in(request)
    if isinstance(actor, Response):
        return actor
    record = _load(request, actor)
    decision = request.path_params["decision"]
    proof_id = request.path_params["proof_id"]
    form = await request.form()
    ctx = engine(request)
    try:
        if decision == "accept":
            paid_on = None
            raw = str(form.get("paid_on") or "").strip()
            if raw:
                try:
                    paid_on = dt.date.fromisoformat(raw)
                except ValueError:
                    raise EngineError("paid_on", "วันที่ชำระไม่ถูกต้อง", "the payment date is not a date", status=422) \
                        from None
            outcome = await run_in_threadpool(accept_proof, ctx, record["id"], proof_id, actor,
                                              method=str(form.get("method") or ""), paid_on=paid_on)
            _audit(request, actor, "payment.proof_accept", record,
                   {"proof": proof_id, "payment": outcome.payment["id"], "flag": outcome.flag})
            _flash(request, outcome)
        elif decision == "refuse":
            await run_in_threadpool(refuse_proof, ctx, record["id"], proof_id, actor, str(form.get("reason") or ""))
            _audit(request, actor, "payment.proof_refuse", record, {"proof": proof_id})
            flash(request, "success", "แจ้งผู้ยื่นคำขอว่าไม่รับหลักฐานแล้ว", "The applicant was told the proof was refused.")
        else:
            raise HTTPException(404)
    except EngineError as exc:
        return _refused(request, actor, record, exc)
    return _done(request, record)


async def finance_list(request: Request) -> Response:
    """The agency's payments to verify (proofs) and flagged payments (A-P4, A-P6)."""
    actor = _signed_in(request)
    if isinstance(actor, Response):
        return actor
    agency = request.path_params["agency"]
    if get_context(request).catalogue.agencies.get(agency) is None or \
            not allowed(actor, "verify_payment", agency=agency):
        raise HTTPException(404)
    to_verify, flagged = work(request, actor, agency)
    from .officer import FLASH

    return render(request, "payments/finance.html", agency=get_context(request).catalogue.agencies[agency],
                  to_verify=to_verify, flagged=flagged, flags=FLAGS, flash=request.session.pop(FLASH, None))


async def settle(request: Request) -> Response:
    """Finance notes how a flagged payment was settled outside the platform."""
    actor = _signed_in(request)
    if isinstance(actor, Response):
        return actor
    agency = request.path_params["agency"]
    form = await request.form()
    try:
        saved = await run_in_threadpool(settle_flagged, engine(request), request.path_params["payment_id"], actor,
                                        agency, str(form.get("note") or ""))
    except EngineError as exc:
        if exc.status == 404:
            raise HTTPException(404) from None
        flash(request, "warning", exc.th, exc.en)
        return RedirectResponse(request.url_for("officer_payments", agency=agency).path, status_code=303)
    trail_target = {"id": saved.get("application") or "", "agency": agency}
    _audit(request, actor, "payment.settle", trail_target, {"payment": saved["id"]})
    flash(request, "success", "บันทึกการดำเนินการแล้ว", "Recorded as settled.")
    return RedirectResponse(request.url_for("officer_payments", agency=agency).path, status_code=303)


# ------------------------------------------------------------------ the provider's callback
async def webhook(request: Request) -> Response:
    from ..payments.webhook import WebhookRefused, handle_callback
    from ..plugin_api import payment_providers

    provider = payment_providers().get(request.path_params["provider"])
    if provider is None or not hasattr(provider, "verify"):
        return JSONResponse({"error": "unknown_provider", "th": "ไม่รู้จักผู้ให้บริการชำระเงินนี้",
                             "en": "unknown payment provider"}, status_code=404)
    secret = get_context(request).settings.bank_webhook_secret
    if not secret:
        return JSONResponse({"error": "not_configured", "th": "ระบบยังไม่ได้ตั้งค่ารับการแจ้งชำระเงิน",
                             "en": "payment callbacks are not configured (ESERVICE_BANK_WEBHOOK_SECRET)"},
                            status_code=503)
    body = await request.body()
    ctx = engine(request)
    try:
        result = await run_in_threadpool(handle_callback, ctx, provider, body, request.headers, secret)
    except WebhookRefused as exc:
        _audit_system(request, "payment.webhook_refused", {"provider": provider.name, "reason": exc.code})
        return JSONResponse({"error": exc.code, "th": exc.th, "en": exc.en}, status_code=exc.status)
    _audit_system(request, "payment.webhook", {"provider": provider.name, **result})
    return JSONResponse(result)


def _audit_system(request: Request, action: str, details: Mapping[str, Any]) -> None:
    from .officer import audit_log

    trail = audit_log(request)
    if trail is not None:
        payment = get_context(request).store.collection(PAYMENTS).get(details.get("payment") or "") \
            if details.get("payment") else None
        trail.record("system", action, target=(payment or {}).get("application") or "",
                     agency=(payment or {}).get("agency") or "", details=dict(details),
                     ip=request.client.host if request.client else "", user_agent=request.headers.get("user-agent", ""))


routes = [
    Route("/applications/{app_id:app_id}/payment/qr.png", qr_image, name="payment_qr"),
    Route("/applications/{app_id:app_id}/payment/proof", proof_upload, name="payment_proof_upload", methods=["POST"]),
    Route("/applications/{app_id:app_id}/payment/proofs/{proof_id}", proof_file, name="payment_proof_file"),
    Route("/officer/applications/{app_id:app_id}/payment/counter", counter, name="officer_payment_counter",
          methods=["POST"]),
    Route("/officer/applications/{app_id:app_id}/payment/proofs/{proof_id}/{decision}", proof_decision,
          name="officer_payment_proof", methods=["POST"]),
    Route("/officer/{agency:slug}/payments", finance_list, name="officer_payments"),
    Route("/officer/{agency:slug}/payments/{payment_id}/settle", settle, name="officer_payment_settle",
          methods=["POST"]),
    Route("/payments/webhook/{provider}", webhook, name="payment_webhook", methods=["POST"]),
]
