// Ponte's public pages work without this file; it only adds what needs a browser:
// "use my position" (the position is rounded to about 100 m, sent with this search only
// and never stored) and the print button of a service's sheet.
(function () {
  "use strict";
  function wire() {
    var locate = document.getElementById("locate");
    var near = document.getElementById("near");
    var status = document.getElementById("near-status");
    if (locate && near && navigator.geolocation) {
      locate.hidden = false;
      locate.addEventListener("click", function () {
        navigator.geolocation.getCurrentPosition(function (pos) {
          near.value = pos.coords.latitude.toFixed(3) + "," + pos.coords.longitude.toFixed(3);
          if (status) { status.textContent = status.dataset.set; }
          var form = locate.form;
          if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
        }, function () {
          if (status) { status.textContent = status.dataset.unavailable; }
        }, { maximumAge: 60000, timeout: 15000 });
      });
    }
    var print = document.getElementById("print");
    if (print) {
      print.hidden = false;
      print.addEventListener("click", function () { window.print(); });
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", wire);
  } else {
    wire();
  }
})();
