/* Centro 311 — form editor: live preview of a JSON Schema form.
 *
 * Typing in the schema or the sample data waits a moment, then posts both
 * to the preview endpoint (CSRF token in the X-CSRFToken header) and puts
 * the HTML it returns (rendered on the server with the same macro users
 * see) into the preview pane. Only the newest answer is shown.
 */
(function () {
  'use strict';

  var form = document.getElementById('editor-formulario');
  var pane = document.getElementById('vista-previa');
  if (!form || !pane) {
    return;
  }
  var schema = document.getElementById('esquema-json');
  var sample = document.getElementById('datos-prueba');
  var token = form.querySelector('input[name="csrf_token"]').value;
  var url = form.getAttribute('data-preview-url');
  var timer = null;
  var sequence = 0;

  function refresh() {
    var mine = ++sequence;
    var body = new URLSearchParams();
    body.set('esquema', schema.value);
    body.set('datos', sample.value);
    pane.setAttribute('aria-busy', 'true');
    fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'X-CSRFToken': token },
      body: body
    })
      .then(function (response) {
        if (response.status !== 200 && response.status !== 422) {
          throw new Error('HTTP ' + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        if (mine === sequence) {
          pane.innerHTML = html;
        }
      })
      .catch(function () {
        if (mine === sequence) {
          var note = document.createElement('p');
          note.className = 'notice notice-error';
          note.textContent = form.getAttribute('data-error-text');
          pane.replaceChildren(note);
        }
      })
      .finally(function () {
        if (mine === sequence) {
          pane.removeAttribute('aria-busy');
        }
      });
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 400);
  }

  schema.addEventListener('input', later);
  sample.addEventListener('input', later);
})();
