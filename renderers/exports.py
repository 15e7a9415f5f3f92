"""Statistics reports as files people open: CSV, XLSX and an inline SVG chart (A-SP5).

* :func:`report_csv` — UTF-8 **with a byte-order mark**, so Excel shows Thai;
  the tables one after another, each under a title row, headers in Thai and
  English.
* :func:`report_xlsx` — one sheet per table (openpyxl), numbers stored as
  numbers, headers in Thai and English.
* :func:`report_chart_svg` — accessible bar charts (received/completed per
  service; median working days per service) as one inline ``<svg>``: a
  ``<title>`` and a ``<desc>`` that reads out every value, text labels on every
  bar, no script, no external resources.

Text that came from people (service titles, officer ids) is written as text,
never as a formula: a cell starting with ``= + - @`` would otherwise run in a
spreadsheet (CSV/formula injection, OWASP; A-X2).
"""
from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

from ..dates import format_date, format_datetime

__all__ = ["report_csv", "report_xlsx", "report_chart_svg", "SERVICE_COLUMNS", "STATE_COLUMNS",
           "OFFICER_COLUMNS"]

# (attribute, Thai header, English header, kind): kind is "text", "int", "days" or "pct"
SERVICE_COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("service", "รหัสบริการ", "Service id", "text"),
    ("title_th", "ชื่อบริการ", "Service (Thai)", "text"),
    ("title_en", "ชื่อบริการ (อังกฤษ)", "Service (English)", "text"),
    ("sla_working_days", "ระยะเวลามาตรฐาน (วันทำการ)", "Standard time (working days)", "int"),
    ("received", "รับคำขอ", "Received", "int"),
    ("completed", "ดำเนินการเสร็จ", "Completed", "int"),
    ("approved", "อนุมัติ", "Approved", "int"),
    ("rejected", "ไม่อนุมัติ", "Rejected", "int"),
    ("disposed", "จำหน่ายเรื่อง", "Disposed", "int"),
    ("referred", "ส่งต่อหน่วยงานอื่น", "Referred", "int"),
    ("withdrawn", "ถอนคำขอ", "Withdrawn", "int"),
    ("in_progress", "อยู่ระหว่างดำเนินการ", "In progress", "int"),
    ("overdue", "เกินระยะเวลามาตรฐาน", "Overdue", "int"),
    ("median_days", "ระยะเวลาดำเนินการ มัธยฐาน (วันทำการ)", "Processing time, median (working days)", "days"),
    ("p90_days", "ระยะเวลาดำเนินการ เปอร์เซ็นไทล์ที่ 90 (วันทำการ)",
     "Processing time, 90th percentile (working days)", "days"),
    ("sla_met_pct", "เสร็จตามระยะเวลามาตรฐาน (%)", "Completed within the standard time (%)", "pct"),
    ("sla_measured", "จำนวนที่วัดระยะเวลามาตรฐาน", "Completed with a standard time", "int"),
)
STATE_COLUMNS = (
    ("service", "รหัสบริการ", "Service id", "text"),
    ("state", "รหัสสถานะ", "State id", "text"),
    ("title_th", "สถานะ", "State (Thai)", "text"),
    ("title_en", "สถานะ (อังกฤษ)", "State (English)", "text"),
    ("count", "จำนวนคำขอที่ค้างอยู่", "Applications in progress", "int"),
)
OFFICER_COLUMNS = (
    ("officer", "เจ้าหน้าที่", "Officer", "text"),
    ("actions", "จำนวนการดำเนินการ", "Actions taken", "int"),
    ("applications", "จำนวนคำขอ", "Applications acted on", "int"),
)
ACTION_COLUMNS = (
    ("officer", "เจ้าหน้าที่", "Officer", "text"),
    ("transition", "การดำเนินการ", "Action", "text"),
    ("count", "จำนวนครั้ง", "Times", "int"),
)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe_text(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _header(columns) -> list[str]:
    return [f"{th} / {en}" for _, th, en, _ in columns]


def _period_text(report) -> tuple[str, str]:
    th = f"{format_date(report.period_from, 'th')} – {format_date(report.period_to, 'th')}"
    en = f"{format_date(report.period_from, 'en')} – {format_date(report.period_to, 'en')}"
    return th, en


def _action_rows(report) -> list[dict[str, Any]]:
    return [{"officer": o.officer, "transition": t, "count": n}
            for o in report.officers for t, n in o.by_transition.items()]


def _tables(report) -> list[tuple[str, str, tuple, list[Any]]]:
    return [
        ("ตาราง 1 สถิติรายบริการ", "Table 1 Statistics by service", SERVICE_COLUMNS,
         [*report.services, report.total]),
        ("ตาราง 2 คำขอที่อยู่ระหว่างดำเนินการ แยกตามสถานะ", "Table 2 Applications in progress by state",
         STATE_COLUMNS, report.states),
        ("ตาราง 3 การดำเนินการของเจ้าหน้าที่", "Table 3 Actions by officer", OFFICER_COLUMNS, report.officers),
        ("ตาราง 4 การดำเนินการของเจ้าหน้าที่ แยกตามประเภท", "Table 4 Officers' actions by type",
         ACTION_COLUMNS, _action_rows(report)),
    ]


def _get(row: Any, key: str) -> Any:
    return row.get(key) if isinstance(row, dict) else getattr(row, key, None)


def _meta_rows(report) -> list[tuple[str, str]]:
    pth, pen = _period_text(report)
    return [
        ("หน่วยงาน / Agency", f"{report.agency_th} / {report.agency_en} ({report.agency})"),
        ("ช่วงเวลา / Period", f"{pth} / {pen}"),
        ("ข้อมูล ณ / Figures as of", f"{format_datetime(report.as_of, 'th')} / {format_datetime(report.as_of, 'en')}"),
        ("จัดทำเมื่อ / Generated", f"{format_datetime(report.generated_at, 'th')} / "
                                   f"{format_datetime(report.generated_at, 'en')}"),
        ("หมายเหตุ / Note", "ระยะเวลานับเป็นวันทำการ ไม่รวมช่วงที่รอผู้ยื่นคำขอ; เปอร์เซ็นไทล์ที่ 90 แบบ nearest-rank / "
                            "times in working days, excluding time waiting for the applicant; "
                            "nearest-rank 90th percentile"),
    ]


# ------------------------------------------------------------------------- CSV
def report_csv(report) -> bytes:
    """The report as CSV, UTF-8 with a BOM (Excel then reads Thai correctly)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["รายงานสถิติการให้บริการ / Service statistics report"])
    for label, value in _meta_rows(report):
        writer.writerow([label, _safe_text(value)])
    for th, en, columns, rows in _tables(report):
        writer.writerow([])
        writer.writerow([f"{th} / {en}"])
        writer.writerow(_header(columns))
        for row in rows:
            writer.writerow([_csv_cell(_get(row, key), kind) for key, _, _, kind in columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _csv_cell(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "days":
        return f"{value:.2f}"
    if kind == "pct":
        return f"{value:.1f}"
    if kind == "int":
        return str(int(value))
    return _safe_text(value)


# ------------------------------------------------------------------------ XLSX
def report_xlsx(report) -> bytes:
    """The report as an Excel workbook: a summary sheet and one sheet per table."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    summary = wb.active
    summary.title = "สรุป Summary"
    summary.append(["รายงานสถิติการให้บริการ / Service statistics report"])
    summary["A1"].font = Font(bold=True, size=14)
    for label, value in _meta_rows(report):
        summary.append([label])
        _text(summary.cell(row=summary.max_row, column=2), value)
    summary.column_dimensions["A"].width = 28
    summary.column_dimensions["B"].width = 90

    names = ("บริการ Services", "สถานะ States", "เจ้าหน้าที่ Officers", "การดำเนินการ Actions")
    for name, (th, en, columns, rows) in zip(names, _tables(report)):
        ws = wb.create_sheet(name)
        ws.append([f"{th} / {en}"])
        ws["A1"].font = Font(bold=True)
        ws.append(_header(columns))
        for cell in ws[2]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for row in rows:
            r = ws.max_row + 1
            for c, (key, _, _, kind) in enumerate(columns, 1):
                value = _get(row, key)
                cell = ws.cell(row=r, column=c)
                if kind == "text":
                    _text(cell, value)
                else:
                    cell.value = value
                    if kind == "days":
                        cell.number_format = "0.00"
                    elif kind == "pct":
                        cell.number_format = "0.0"
        if columns is SERVICE_COLUMNS and rows:
            for cell in ws[ws.max_row]:
                cell.font = Font(bold=True)  # the agency total
        ws.freeze_panes = "A3"
        for c, (_, th_, en_, kind) in enumerate(columns, 1):
            ws.column_dimensions[get_column_letter(c)].width = 30 if kind == "text" else 18
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _text(cell, value: Any) -> None:
    """A text cell that a spreadsheet never evaluates (openpyxl would store
    ``=…`` as a formula)."""
    cell.value = "" if value is None else str(value)
    cell.data_type = "s"


# ------------------------------------------------------------------------- SVG
_FONT = "Sarabun, 'Noto Sans Thai', 'TH Sarabun New', Tahoma, sans-serif"
_WIDTH = 760
_LABEL_W = 250
_BAR_H = 16
_RECEIVED, _COMPLETED, _MEDIAN = "#1d4f91", "#2e7d32", "#8a4b00"  # all ≥ 7:1 on white


def _fmt(value: float) -> str:
    return f"{value:g}" if float(value).is_integer() else f"{value:.2f}".rstrip("0").rstrip(".")


def _clip(text: str, limit: int = 34) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def report_chart_svg(report, lang: str = "th", id_prefix: str = "report-chart") -> str:
    """Two bar charts in one accessible ``<svg>`` (inline in a page; no script).

    ``lang`` chooses the labels (``"th"`` or ``"en"``); the ``<desc>`` lists
    every value so a screen reader gets the whole chart as text.  Give each
    chart on one page its own ``id_prefix`` (the title and desc ids).
    """
    en = lang == "en"
    rows = report.services
    pth, pen = _period_text(report)

    def name(r) -> str:
        return (r.title_en if en else r.title_th) or r.service

    title = (f"Received and completed applications, and median processing time, {report.agency_en}, {pen}"
             if en else f"คำขอที่รับและดำเนินการเสร็จ และระยะเวลาดำเนินการ (มัธยฐาน) {report.agency_th} {pth}")
    if en:
        parts = [f"{name(r)}: received {r.received}, completed {r.completed}, median "
                 + (f"{_fmt(r.median_days)} working days" if r.median_days is not None else "not available")
                 for r in rows]
    else:
        parts = [f"{name(r)}: รับ {r.received} เรื่อง ดำเนินการเสร็จ {r.completed} เรื่อง ระยะเวลามัธยฐาน "
                 + (f"{_fmt(r.median_days)} วันทำการ" if r.median_days is not None else "ไม่มีข้อมูล")
                 for r in rows]
    desc = "; ".join(parts) if parts else ("No applications." if en else "ไม่มีคำขอ")

    out: list[str] = []
    y = 0

    def text(x: float, y_: float, content: str, **attrs: Any) -> None:
        extra = "".join(f' {k.replace("_", "-")}="{escape(str(v))}"' for k, v in attrs.items())
        out.append(f'<text x="{x:.1f}" y="{y_:.1f}"{extra}>{escape(content)}</text>')

    plot_w = _WIDTH - _LABEL_W - 60

    def chart(heading: str, series: list[tuple[str, str, Callable[[Any], float | None]]]) -> None:
        nonlocal y
        y += 28
        text(10, y, heading, font_weight="bold", font_size="15")
        y += 10
        # legend
        lx = _LABEL_W
        for label, colour, _ in series:
            out.append(f'<rect x="{lx}" y="{y + 2}" width="12" height="12" fill="{colour}"/>')
            text(lx + 16, y + 12, label, font_size="12")
            lx += 24 + 8 * len(label)
        y += 22
        values = [v for r in rows for _, _, get in series if (v := get(r)) is not None]
        top = max(values, default=0) or 1
        for r in rows:
            group_h = len(series) * (_BAR_H + 2)
            text(_LABEL_W - 8, y + group_h / 2 + 4, _clip(name(r)), text_anchor="end", font_size="12")
            for label, colour, get in series:
                v = get(r)
                width = max(1.0, plot_w * v / top) if v else 0.0
                shown = "–" if v is None else _fmt(v)
                out.append(f'<rect x="{_LABEL_W}" y="{y}" width="{width:.1f}" height="{_BAR_H}" '
                           f'fill="{colour}"><title>{escape(f"{name(r)}: {label} {shown}")}</title></rect>')
                text(_LABEL_W + width + 6, y + _BAR_H - 3, shown, font_size="12")
                y += _BAR_H + 2
            y += 8
        out.append(f'<line x1="{_LABEL_W}" y1="{y - 4}" x2="{_LABEL_W + plot_w}" y2="{y - 4}" '
                   'stroke="#6b6b6b" stroke-width="1"/>')

    chart("Applications by service" if en else "จำนวนคำขอรายบริการ",
          [("Received" if en else "รับคำขอ", _RECEIVED, lambda r: r.received),
           ("Completed" if en else "ดำเนินการเสร็จ", _COMPLETED, lambda r: r.completed)])
    chart("Median processing time (working days)" if en else "ระยะเวลาดำเนินการ มัธยฐาน (วันทำการ)",
          [("Median" if en else "มัธยฐาน", _MEDIAN, lambda r: r.median_days)])
    height = y + 16
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{_WIDTH}" height="{height:.0f}" '
            f'viewBox="0 0 {_WIDTH} {height:.0f}" aria-labelledby="{id_prefix}-title {id_prefix}-desc" '
            f'font-family="{escape(_FONT)}" fill="#1a1a1a">'
            f'<title id="{id_prefix}-title">{escape(title)}</title>'
            f'<desc id="{id_prefix}-desc">{escape(desc)}</desc>'
            f'<rect x="0" y="0" width="{_WIDTH}" height="{height:.0f}" fill="#ffffff"/>'
            + "".join(out) + "</svg>")
