// Solas forms: read a chosen file into the URL-encoded form (CSV as text, a binary MOC as
// base64), and add watchlist/watchmap/annotator entries to a filter's table list.
(function () {
  'use strict';
  document.querySelectorAll('input[type=file][data-into]').forEach(function (input) {
    input.addEventListener('change', function () {
      var f = input.files && input.files[0];
      if (!f) return;
      f.text().then(function (t) { document.getElementById(input.dataset.into).value = t; });
    });
  });
  document.querySelectorAll('input[type=file][data-into-base64]').forEach(function (input) {
    input.addEventListener('change', function () {
      var f = input.files && input.files[0];
      if (!f) return;
      f.arrayBuffer().then(function (buf) {
        var bytes = new Uint8Array(buf), s = '', chunk = 0x8000;
        for (var i = 0; i < bytes.length; i += chunk) {
          s += String.fromCharCode.apply(null, bytes.subarray(i, i + chunk));
        }
        document.getElementById(input.dataset.intoBase64).value = btoa(s);
      });
    });
  });
  document.querySelectorAll('button.add-table').forEach(function (b) {
    b.addEventListener('click', function () {
      var t = document.getElementById('f-tables');
      if (!t) return;
      var parts = t.value.split(',').map(function (x) { return x.trim(); }).filter(Boolean);
      if (parts.indexOf(b.dataset.add) < 0) parts.push(b.dataset.add);
      t.value = parts.join(', ');
    });
  });
})();
