// The portal's one script: switching language keeps what the person has typed.
// Before the language form is sent, the page's own forms are saved in this tab's sessionStorage;
// the page in the new language puts them back and forgets them. Nothing leaves the browser.
(function () {
  "use strict";
  var KEY = "dsr-typed:" + location.pathname;
  var SKIP = { hidden: true, password: true, file: true, submit: true, button: true };

  function fields() {
    return Array.prototype.filter.call(
      document.querySelectorAll("main form input, main form textarea, main form select"),
      function (field) { return field.name && !SKIP[field.type]; }
    );
  }

  function save() {
    var typed = fields().map(function (field) {
      if (field.type === "checkbox" || field.type === "radio") {
        return { name: field.name, value: field.value, checked: field.checked };
      }
      return { name: field.name, value: field.value };
    });
    try { sessionStorage.setItem(KEY, JSON.stringify(typed)); } catch (e) { /* storage off: nothing kept */ }
  }

  function restore() {
    var saved;
    try {
      saved = JSON.parse(sessionStorage.getItem(KEY) || "null");
      sessionStorage.removeItem(KEY);
    } catch (e) { return; }
    if (!saved) { return; }
    var remaining = fields();
    saved.forEach(function (entry) {
      remaining.some(function (field, index) {
        if (field.name !== entry.name) { return false; }
        if (field.type === "checkbox" || field.type === "radio") {
          if (field.value !== entry.value) { return false; }
          field.checked = entry.checked;
        } else {
          field.value = entry.value;
        }
        remaining.splice(index, 1);
        return true;
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    restore();
    var switcher = document.querySelector("form.language-switch");
    if (switcher) { switcher.addEventListener("submit", save); }
  });
})();
