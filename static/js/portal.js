// The portal's own behaviour, from a file (the Content-Security-Policy allows no inline script).
(function () {
  "use strict";
  // A form with data-confirm asks before it is sent (e.g. cancelling an order).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
  // A select with data-autosubmit sends its form when changed (the language switcher).
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field instanceof HTMLSelectElement && field.hasAttribute("data-autosubmit") && field.form) {
      field.form.submit();
    }
  });
  // The new-order form: "Add another product" appends an empty line from its template.
  var add = document.getElementById("add-line");
  if (add) {
    var lines = document.getElementById("lines");
    var total = document.getElementById("id_lines-TOTAL_FORMS");
    var tpl = document.getElementById("empty-line");
    add.addEventListener("click", function () {
      var n = parseInt(total.value, 10);
      lines.insertAdjacentHTML("beforeend", tpl.innerHTML.replace(/__prefix__/g, n));
      total.value = n + 1;
    });
  }
})();
