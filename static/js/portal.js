// The portal's own behaviour, from a file (the Content-Security-Policy allows no inline script).
// Every page works without it; this file only adds comfort (see templates/README.md).
(function () {
  "use strict";

  // A short text for screen readers, from the page's one polite live region (base.html, #live-status).
  function announce(text) {
    var region = document.getElementById("live-status");
    if (!region || !text) {
      return;
    }
    region.textContent = "";
    // A new text node after a tick, so the same words are announced again on a second copy.
    window.setTimeout(function () {
      region.textContent = text;
    }, 50);
  }

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

  // Copy to clipboard (components/_copy.html): a button with data-copy="text", data-copy-target="id" of
  // the element whose text it copies, or data-copy-near to copy the .copy__value beside it (a list's rows,
  // with no id each). The buttons stay hidden until this script shows them.
  function copyText(text, source) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      // Older browsers and plain-HTTP hosts: select the text and let the browser copy it.
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "visually-hidden";
      (source || document.body).appendChild(area);
      area.select();
      var ok = false;
      try {
        ok = document.execCommand("copy");
      } catch (e) {
        ok = false;
      }
      area.remove();
      if (ok) {
        resolve();
      } else {
        reject(new Error("copy refused"));
      }
    });
  }

  // The words a copy button shows and announces: its own attributes, or those of the nearest element that
  // holds them for a whole list (the locker's cards, translated once per page).
  function wording(button, name) {
    var holder = button.closest("[" + name + "]");
    return holder ? holder.getAttribute(name) : "";
  }

  function copyButtons() {
    return document.querySelectorAll("[data-copy], [data-copy-target], [data-copy-near]");
  }

  // A button marked data-copy-pending waits for its value (a locker key not yet revealed: locker.js).
  copyButtons().forEach(function (button) {
    if (!button.hasAttribute("data-copy-pending")) {
      button.hidden = false;
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-copy], [data-copy-target], [data-copy-near]") : null;
    if (!button) {
      return;
    }
    event.preventDefault();
    var text = button.getAttribute("data-copy");
    var target = null;
    if (text === null) {
      target = button.hasAttribute("data-copy-near")
        ? button.parentNode.querySelector(".copy__value")
        : document.getElementById(button.getAttribute("data-copy-target"));
      text = target ? target.textContent.trim() : "";
    }
    if (!text) {
      return;
    }
    var label = button.querySelector(".copy__label") || button;
    if (!button.dataset.label) {
      button.dataset.label = label.textContent;
    }
    copyText(text, button.parentNode).then(
      function () {
        var done = wording(button, "data-copied-text") || "Copied";
        label.textContent = done;
        button.setAttribute("data-copied", "");
        announce(wording(button, "data-announce") || done);
        window.clearTimeout(button._copyTimer);
        button._copyTimer = window.setTimeout(function () {
          label.textContent = button.dataset.label;
          button.removeAttribute("data-copied");
        }, 2500);
      },
      function () {
        // The clipboard refused: select the value so that the person can copy it by hand.
        if (target && window.getSelection) {
          var range = document.createRange();
          range.selectNodeContents(target);
          var selection = window.getSelection();
          selection.removeAllRanges();
          selection.addRange(range);
        }
        announce(wording(button, "data-failed-text") || "");
      }
    );
  });

  // Toasts (the messages list): each gets a close button; nothing closes by itself (WCAG 2.2.1).
  var toasts = document.querySelector(".messages[data-dismiss-label]");
  if (toasts) {
    var dismiss = toasts.getAttribute("data-dismiss-label");
    toasts.querySelectorAll(".msg").forEach(function (item) {
      var close = document.createElement("button");
      close.type = "button";
      close.className = "msg__close";
      close.setAttribute("aria-label", dismiss);
      close.textContent = "\u00d7";
      close.addEventListener("click", function () {
        item.remove();
        if (!toasts.querySelector(".msg")) {
          toasts.remove();
        }
      });
      item.appendChild(close);
    });
  }

  // A form that failed shows its error summary (components/_form_errors.html): focus it, so that a
  // screen reader reads it and a keyboard starts from it.
  var summary = document.querySelector(".error-summary[data-autofocus]");
  if (summary) {
    summary.focus();
  }

})();

// ---- ordering (issue #13): the new-order form's lines and its running total ------------------------
// templates/orders/order_form.html. Without this script the form works through the server: "Add another
// product" posts, "Remove this line" is a box ticked before "Review order", and the total is shown on the
// confirmation step. With it, lines are added and removed in place and the total follows the input,
// computed as the server computes it (orders.models.Totals: line amounts in cents, VAT rounded half up).
(function () {
  "use strict";
  var form = document.getElementById("order-form");
  var lines = document.getElementById("lines");
  var count = document.getElementById("id_lines-TOTAL_FORMS");
  var template = document.getElementById("empty-line");
  if (!form || !lines || !count || !template || typeof BigInt !== "function") {
    return;
  }
  var pricesNode = document.getElementById("order-prices");
  var prices = pricesNode ? JSON.parse(pricesNode.textContent) : {};
  var currency = form.getAttribute("data-currency") || "";
  var decimalSeparator = form.getAttribute("data-decimal-separator") || ".";
  var thousandSeparator = form.getAttribute("data-thousand-separator") || ",";
  var totalBox = document.getElementById("order-total");
  var addButton = form.querySelector("[data-add-line]");

  // "12.5" -> 1250n (hundredths); anything else -> null.
  function hundredths(text) {
    var match = /^\s*(\d+)(?:\.(\d{0,2}))?\s*$/.exec(text || "");
    if (!match) {
      return null;
    }
    return BigInt(match[1]) * 100n + BigInt(((match[2] || "") + "00").slice(0, 2));
  }
  var vatHundredths = hundredths(form.getAttribute("data-vat-percent")) || 0n;

  function money(cents) {
    var whole = (cents / 100n).toString();
    var rest = (cents % 100n).toString().padStart(2, "0");
    var grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, thousandSeparator);
    return grouped + decimalSeparator + rest + (currency ? " " + currency : "");
  }

  function rows() {
    return Array.prototype.filter.call(lines.querySelectorAll("[data-line]"), function (row) {
      return !row.hidden;
    });
  }

  function deleteBox(row) {
    return row.querySelector("input[type=checkbox][name$='-DELETE']");
  }

  function update() {
    var net = 0n;
    var any = false;
    rows().forEach(function (row) {
      var select = row.querySelector("select");
      var quantityInput = row.querySelector("input[name$='-quantity']");
      var info = row.querySelector("[data-line-info]");
      var lineTotal = row.querySelector("[data-line-total]");
      var option = select && select.value ? select.options[select.selectedIndex] : null;
      if (info) {
        info.textContent = option ? option.text : "";
      }
      var price = option ? hundredths(prices[select.value]) : null;
      var quantity = quantityInput && /^\s*\d{1,5}\s*$/.test(quantityInput.value) ? BigInt(quantityInput.value.trim()) : null;
      if (price === null || quantity === null || quantity < 1n) {
        if (lineTotal) {
          lineTotal.hidden = true;
        }
        return;
      }
      var amount = price * quantity;
      net += amount;
      any = true;
      if (lineTotal) {
        // The caption is one translated sentence with an {amount} placeholder (ALL-4: no glued pieces).
        var caption = lineTotal.getAttribute("data-caption") || "{amount}";
        lineTotal.textContent = caption.replace("{amount}", function () {
          return money(amount);
        });
        lineTotal.hidden = false;
      }
    });
    if (!totalBox) {
      return;
    }
    var vat = (net * vatHundredths + 5000n) / 10000n; // hundredths of a percent; half up, as the invoice
    totalBox.querySelector("[data-total=net]").textContent = money(net);
    totalBox.querySelector("[data-total=vat]").textContent = money(vat);
    totalBox.querySelector("[data-total=gross]").textContent = money(net + vat);
    totalBox.hidden = !any;
  }

  // A line gets a "Remove" button in place of its "Remove this line" box.
  function prepare(row) {
    var box = deleteBox(row);
    var field = box ? box.closest(".field") : null;
    var button = row.querySelector("[data-remove-line]");
    if (box && box.checked) {
      row.hidden = true; // removed before the page was sent back with errors
    }
    if (field && button) {
      field.hidden = true;
      button.hidden = false;
    }
  }

  function addLine() {
    var n = parseInt(count.value, 10) || 0;
    lines.insertAdjacentHTML("beforeend", template.innerHTML.replace(/__prefix__/g, String(n)));
    count.value = String(n + 1);
    var row = lines.lastElementChild;
    prepare(row);
    return row;
  }

  function removeLine(row) {
    var box = deleteBox(row);
    if (box) {
      box.checked = true;
    }
    row.hidden = true;
    var left = rows();
    var next = left.length ? left[left.length - 1].querySelector("select") : null;
    if (!left.length) {
      next = addLine().querySelector("select");
    }
    if (next) {
      next.focus();
    }
    update();
  }

  Array.prototype.forEach.call(lines.querySelectorAll("[data-line]"), prepare);
  if (addButton) {
    addButton.type = "button"; // Enter in a field now sends "Review order", not "Add another product"
    addButton.addEventListener("click", function () {
      var select = addLine().querySelector("select");
      if (select) {
        select.focus();
      }
      update();
    });
  }
  lines.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-remove-line]") : null;
    if (button) {
      removeLine(button.closest("[data-line]"));
    }
  });
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  update();
})();
