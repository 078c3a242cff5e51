// The object page's stamps: choose the detection, the stretch and the size. The images are
// the server's north-up, east-left SVGs (with compass and scale bar); the PNG and FITS
// links follow the choice.
(function () {
  "use strict";
  var box = document.getElementById("stamps");
  if (!box) return;
  var survey = box.dataset.survey;
  var det = document.getElementById("stamp-detection");
  var stretch = document.getElementById("stamp-stretch");
  var size = document.getElementById("stamp-size");
  var shown = document.getElementById("stamp-source");
  function update() {
    var src = encodeURIComponent(det.value);
    var s = encodeURIComponent(stretch.value);
    var base = "/cutouts/" + encodeURIComponent(survey) + "/" + src + "/";
    box.querySelectorAll("img.cutout").forEach(function (img) {
      img.src = base + img.dataset.kind + ".svg?stretch=" + s;
      img.width = img.height = Number(size.value);
    });
    box.querySelectorAll("a.png").forEach(function (a) {
      a.href = base + a.dataset.kind + ".png?stretch=" + s;
    });
    box.querySelectorAll("a.fits").forEach(function (a) {
      a.href = "/fits/" + src + "_cutout" + a.dataset.kind + "?survey=" + encodeURIComponent(survey);
    });
    shown.textContent = det.value;
  }
  [det, stretch, size].forEach(function (el) {
    el.addEventListener("change", update);
  });
})();
