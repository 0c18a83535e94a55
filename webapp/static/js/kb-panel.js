/* Centro 311 — the knowledge-base search panel (templates/_kb_panel.html).
 *
 * Without this file the panel's form opens the search page in a new tab.
 * With it, the results (an HTML fragment rendered by the server) come into
 * the panel, and when the page's form has an "articulo" choice, each result
 * gets a button that picks it there. Loaded from a file because the
 * Content-Security-Policy allows no inline script.
 */
(function () {
  'use strict';

  function pickable() {
    return document.querySelector('select[name="articulo"]');
  }

  function wire(panel, out) {
    var select = pickable();
    out.querySelectorAll('.kb-use').forEach(function (button) {
      var id = button.getAttribute('data-article-id');
      var known = select && Array.prototype.some.call(select.options, function (o) {
        return o.value === id;
      });
      if (!known) {
        return;
      }
      button.hidden = false;
      button.addEventListener('click', function () {
        select.value = id;
        select.dispatchEvent(new Event('change', { bubbles: true }));
        select.focus();
        var note = document.createElement('p');
        note.className = 'notice notice-success';
        note.textContent = out.getAttribute('data-picked-text') || '';
        out.prepend(note);
      });
    });
  }

  function setup(panel) {
    var form = panel.querySelector('form');
    var out = panel.querySelector('.kb-panel-out');
    var url = panel.getAttribute('data-results-url');
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var query = new URLSearchParams(new FormData(form)).toString();
      fetch(url + '?' + query, { credentials: 'same-origin' })
        .then(function (response) {
          return response.text().then(function (text) {
            return { ok: response.ok || response.status === 422, text: text };
          });
        })
        .then(function (result) {
          if (!result.ok) {
            throw new Error('search failed');
          }
          out.innerHTML = result.text;
          wire(panel, out);
        })
        .catch(function () {
          var note = document.createElement('p');
          note.className = 'field-errors';
          note.textContent = out.getAttribute('data-error-text') || '';
          out.replaceChildren(note);
        });
    });
  }

  document.querySelectorAll('[data-kb-panel]').forEach(setup);
}());
