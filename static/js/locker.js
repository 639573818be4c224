// The Digital Locker: a key is revealed in its card, so the address bar keeps the locker's address and a
// reload never lands on the reveal address (ESD-8: the key is fetched by POST, never in a URL, never cached).
(function () {
  "use strict";
  var form = document.getElementById("reveal");
  if (!form) {
    return;
  }
  var token = form.querySelector("input[name=csrfmiddlewaretoken]");
  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("button[data-reveal]") : null;
    if (!button || !window.fetch) {
      return; // without fetch the button submits the form, and the page comes back with the key shown
    }
    event.preventDefault();
    button.disabled = true;
    var card = button.closest(".key-card");
    fetch(button.getAttribute("formaction"), {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json", "X-CSRFToken": token ? token.value : "" },
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then(function (body) {
        var value = card.querySelector(".key");
        value.textContent = body.key;
        value.classList.remove("key--masked");
        value.classList.add("key--revealed");
        value.setAttribute("data-revealed", "1");
        var copy = card.querySelector("button[data-copy-near]");
        if (copy) {
          copy.removeAttribute("data-copy-pending");
          copy.hidden = false;
          copy.focus();
        }
        button.remove();
      })
      .catch(function () {
        button.disabled = false;
        var note = card.querySelector(".key-card__error") || document.createElement("p");
        note.className = "key-card__error field-error";
        note.setAttribute("role", "alert");
        note.textContent = form.getAttribute("data-error");
        card.appendChild(note);
      });
  });
})();
