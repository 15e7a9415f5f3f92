/* Progressive enhancement for the e-Form: every page works without this file.
   - a question whose condition is a simple `field == value` on the same page is shown or
     hidden at once when that answer changes (the server still decides: hidden answers
     are dropped when the page is saved);
   - Thai address: the district, subdistrict and postcode suggestions follow the province
     and district typed or chosen (a small JSON API, /api/address/...), and a postcode is
     filled in when the subdistrict has only one;
   (a date typed as day / month / year is shown written out by site.js, the one date widget). */
(function () {
  "use strict";

  function currentValue(form, name) {
    var inputs = form.querySelectorAll("[name='" + name.replace(/'/g, "") + "']");
    var value = "";
    inputs.forEach(function (input) {
      if (input.type === "radio" || input.type === "checkbox") {
        if (input.checked) value = input.value;
      } else {
        value = input.value;
      }
    });
    return value;
  }

  function conditions(form) {
    var groups = form.querySelectorAll("[data-show-if-name]");
    if (!groups.length) return;
    function update() {
      groups.forEach(function (group) {
        var shown = currentValue(form, group.getAttribute("data-show-if-name")) === group.getAttribute("data-show-if-value");
        group.hidden = !shown;
      });
    }
    form.addEventListener("change", update);
    update();
  }

  function fillList(list, items) {
    if (!list) return;
    while (list.firstChild) list.removeChild(list.firstChild);
    items.forEach(function (item) {
      var option = document.createElement("option");
      option.value = item.name || item;
      list.appendChild(option);
    });
  }

  function getJSON(url, done) {
    if (!window.fetch) return;
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(done)
      .catch(function () { /* the plain inputs still work */ });
  }

  function address(fieldset) {
    function part(name) { return fieldset.querySelector("[data-address-part='" + name + "']"); }
    var province = part("province"), district = part("district"), subdistrict = part("subdistrict"), postcode = part("postcode");
    if (!province || !district || !subdistrict || !postcode) return;
    var q = encodeURIComponent;
    function listOf(input) { return input.list || document.getElementById(input.getAttribute("list")); }
    function loadDistricts() {
      if (!province.value.trim()) return;
      getJSON("/api/address/districts?province=" + q(province.value.trim()), function (items) { fillList(listOf(district), items); });
    }
    function loadSubdistricts() {
      if (!province.value.trim() || !district.value.trim()) return;
      getJSON("/api/address/subdistricts?province=" + q(province.value.trim()) + "&district=" + q(district.value.trim()),
        function (items) { fillList(listOf(subdistrict), items); });
    }
    function loadPostcode() {
      if (!province.value.trim() || !district.value.trim() || !subdistrict.value.trim()) return;
      getJSON("/api/address/postcodes?province=" + q(province.value.trim()) + "&district=" + q(district.value.trim()) +
        "&subdistrict=" + q(subdistrict.value.trim()), function (codes) {
          if (codes.length === 1 && !postcode.value.trim()) postcode.value = codes[0];
        });
    }
    province.addEventListener("change", loadDistricts);
    district.addEventListener("change", loadSubdistricts);
    subdistrict.addEventListener("change", loadPostcode);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.eform").forEach(conditions);
    document.querySelectorAll("[data-address]").forEach(address);
  });
})();
