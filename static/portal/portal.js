/* Small progressive enhancements; every page works without them. */
(function () {
  "use strict";
  var form = document.getElementById("bulk-form");
  if (!form) { return; }
  var all = document.getElementById("select-all");
  var boxes = function () { return form.querySelectorAll('input[name="tenant_ids"]'); };
  var count = form.querySelector("[data-selected-count]");
  var update = function () {
    var ticked = form.querySelectorAll('input[name="tenant_ids"]:checked').length;
    if (count) { count.textContent = "(" + ticked + ")"; }
    if (all) { all.checked = ticked > 0 && ticked === boxes().length; }
  };
  if (all) {
    all.addEventListener("change", function () {
      boxes().forEach(function (box) { box.checked = all.checked; });
      update();
    });
  }
  form.addEventListener("change", function (event) {
    if (event.target.name === "tenant_ids") { update(); }
  });
  update();
})();
