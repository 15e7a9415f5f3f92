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
    // The Thai date widget (issue #10 item 6; widgets/date.html): day, month and year boxes, the
    // date written out beside them as it is typed.  Years 2400-2700 are Buddhist Era, 1857-2157
    // Gregorian, any other is refused - the rule of eservice.dates.read_typed_date on the server.
    var TH_M = ["มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน", "กรกฎาคม", "สิงหาคม",
      "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม"];
    var EN_M = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
      "October", "November", "December"];
    var pageLang = document.documentElement.getAttribute("lang") || "th";
    document.querySelectorAll("[data-date-input]").forEach(function (box) {
      var parts = box.querySelectorAll("[data-date-part]"), shown = box.querySelector("[data-date-shown]");
      if (parts.length !== 3 || !shown) return;
      function update() {
        var d = parseInt(parts[0].value, 10), m = parseInt(parts[1].value, 10), y = parseInt(parts[2].value, 10);
        if (!d || !m || !y || parts[2].value.trim().length !== 4) { shown.textContent = ""; return; }
        if (y >= 2400 && y <= 2700) y -= 543;
        else if (y < 1857 || y > 2157) {
          shown.textContent = pageLang === "en" ? "The year " + parts[2].value.trim() + " is out of range: use 1857–2157"
            : "ปี " + parts[2].value.trim() + " อยู่นอกช่วงที่รับได้: ใช้ปี พ.ศ. 2400–2700";
          return;
        }
        var date = new Date(y, m - 1, d);
        if (m < 1 || m > 12 || date.getDate() !== d || date.getMonth() !== m - 1) { shown.textContent = ""; return; }
        shown.textContent = pageLang === "en" ? d + " " + EN_M[m - 1] + " " + y
          : d + " " + TH_M[m - 1] + " พ.ศ. " + (y + 543);
      }
      parts.forEach(function (p) { p.addEventListener("input", update); });
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
