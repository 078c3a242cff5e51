// Sorts a table.sortable by the column whose heading is clicked (again: the other way).
// Numbers compare as numbers (64-bit ids as BigInt, exactly), the rest as text; empty
// cells go last. No library: plain DOM.
(function () {
  'use strict';
  function key(td) {
    var v = td.getAttribute('data-v');
    if (v === null) return { text: td.textContent.trim() };
    if (/^-?\d+$/.test(v)) return { big: BigInt(v) };
    return { num: parseFloat(v) };
  }
  function cmp(a, b) {
    var ea = a.text === '' , eb = b.text === '';
    if (ea || eb) return ea === eb ? 0 : ea ? 1 : -1;
    if (a.big !== undefined && b.big !== undefined) return a.big < b.big ? -1 : a.big > b.big ? 1 : 0;
    var x = a.big !== undefined ? Number(a.big) : a.num, y = b.big !== undefined ? Number(b.big) : b.num;
    if (x !== undefined && y !== undefined) return x - y;
    return String(a.text).localeCompare(String(b.text));
  }
  document.querySelectorAll('table.sortable').forEach(function (table) {
    var heads = table.querySelectorAll('thead th');
    heads.forEach(function (th, col) {
      th.style.cursor = 'pointer';
      th.title = 'sort by ' + th.textContent;
      th.addEventListener('click', function () {
        var down = th.getAttribute('aria-sort') === 'ascending';
        heads.forEach(function (h) { h.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', down ? 'descending' : 'ascending');
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (r1, r2) {
          var c = cmp(key(r1.cells[col]), key(r2.cells[col]));
          return down ? -c : c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
})();
