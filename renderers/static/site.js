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
