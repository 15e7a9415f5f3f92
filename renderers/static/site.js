/* Progressive enhancement only: every page works without this file.
   - moves focus to an error summary when a form comes back with errors;
   - a link in the error summary focuses its field (not only scrolls to it);
   - a submit button marked data-prevent-double-click is disabled after the first click
     (so a slow connection does not send an application twice);
   - a form marked data-confirm asks before sending (text in the attribute). */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector(".error-summary");
    if (summary) {
      if (!summary.hasAttribute("tabindex")) summary.setAttribute("tabindex", "-1");
      summary.focus();
      summary.addEventListener("click", function (event) {
        var link = event.target.closest("a[href^='#']");
        if (!link) return;
        var field = document.getElementById(link.getAttribute("href").slice(1));
        if (!field) return;
        event.preventDefault();
        var group = field.closest(".form-group, fieldset");
        (group || field).scrollIntoView();
        field.focus({ preventScroll: true });
      });
    }
    // The Thai date widget (issue #10 item 6): a typed dd/mm/yyyy shown written out beside it;
    // years 2400-2700 are Buddhist Era, 1857-2157 Gregorian, others are refused (as on the server).
    var TH_M = ["มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน", "กรกฎาคม", "สิงหาคม",
      "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม"];
    var EN_M = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
      "October", "November", "December"];
    var pageLang = document.documentElement.getAttribute("lang") || "th";
    document.querySelectorAll("[data-date-typed]").forEach(function (box) {
      var input = box.querySelector("input"), shown = box.querySelector("[data-date-shown]");
      if (!input || !shown) return;
      input.addEventListener("input", function () {
        var m = /^\s*(\d{1,2})[\/.-](\d{1,2})[\/.-](\d{4})\s*$/.exec(input.value);
        var iso = /^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$/.exec(input.value);
        var d, mo, y;
        if (m) { d = +m[1]; mo = +m[2]; y = +m[3]; } else if (iso) { y = +iso[1]; mo = +iso[2]; d = +iso[3]; }
        else { shown.textContent = ""; return; }
        if (y >= 2400 && y <= 2700) y -= 543;
        else if (y < 1857 || y > 2157) {
          shown.textContent = pageLang === "en" ? "The year is out of range (1857–2157)"
            : "ปีอยู่นอกช่วงที่รับได้ (พ.ศ. 2400–2700)";
          return;
        }
        var date = new Date(y, mo - 1, d);
        if (mo < 1 || mo > 12 || date.getDate() !== d || date.getMonth() !== mo - 1) { shown.textContent = ""; return; }
        shown.textContent = pageLang === "en" ? d + " " + EN_M[mo - 1] + " " + y : d + " " + TH_M[mo - 1] + " พ.ศ. " + (y + 543);
      });
    });
    document.querySelectorAll("form").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        var question = form.getAttribute("data-confirm");
        if (question && !window.confirm(question)) { event.preventDefault(); return; }
        var button = event.submitter;
        if (button && button.hasAttribute("data-prevent-double-click")) {
          if (button.dataset.clicked) { event.preventDefault(); return; }
          button.dataset.clicked = "1";
          window.setTimeout(function () { button.setAttribute("aria-disabled", "true"); }, 0);
        }
      });
    });
  });
})();
