// Refusal and fee reasons: choosing a ground puts its template text (in the requester's language) into
// an empty reasons box, or replaces a template that has not been edited. Without JavaScript the
// form works the same; staff write the reasons themselves.
(function () {
  "use strict";
  function offerTemplates(dataId, action) {
    var data = document.getElementById(dataId);
    var form = document.querySelector('form[data-action="' + action + '"]');
    if (!data || !form) { return; }
    var templates = JSON.parse(data.textContent);
    var reasons = form.querySelector("textarea");
    var used = "";
    form.querySelectorAll('input[name="' + action + '-ground"]').forEach(function (radio) {
      radio.addEventListener("change", function () {
        var text = templates[radio.value] || "";
        if (reasons.value.trim() === "" || reasons.value === used) {
          reasons.value = text;
          used = text;
          reasons.focus();
          reasons.setSelectionRange(text.length, text.length);
        }
      });
    });
  }
  offerTemplates("refusal-templates", "refuse");
  offerTemplates("fee-templates", "fee");
}());
