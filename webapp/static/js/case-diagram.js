/* Centro 311 — read-only BPMN diagrams (navigated viewer).
 *
 * Every element with `data-bpmn-viewer` shows the diagram found at its
 * `data-diagram-url`. On a case page, `data-completed` and `data-current`
 * hold JSON lists of BPMN element ids: those elements get the markers
 * `paso-completado` and `paso-actual` (styled in app.css); `data-waiting`
 * lists armed timers and other boundary events (`paso-en-espera`). On the
 * version comparison, `data-added`, `data-removed` and `data-changed` mark
 * what differs (`diff-anadido`, `diff-quitado`, `diff-cambiado`). Loaded from a
 * file because the Content-Security-Policy allows no inline script.
 */
(function () {
  'use strict';

  function ids(container, name) {
    try {
      var value = JSON.parse(container.getAttribute(name) || '[]');
      return Array.isArray(value) ? value : [];
    } catch (err) {
      return [];
    }
  }

  function fail(container) {
    container.classList.add('is-error');
    var note = document.createElement('p');
    note.className = 'bpmn-fallback';
    note.textContent = container.getAttribute('data-error-text') || '';
    container.replaceChildren(note);
  }

  function show(container) {
    if (typeof window.BpmnJS !== 'function') {
      fail(container);
      return;
    }
    var viewer = new window.BpmnJS({ container: container });
    fetch(container.getAttribute('data-diagram-url'), {
      credentials: 'same-origin',
      headers: { Accept: 'application/xml' }
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error('HTTP ' + response.status);
        }
        return response.text();
      })
      .then(function (xml) {
        return viewer.importXML(xml);
      })
      .then(function () {
        var canvas = viewer.get('canvas');
        var registry = viewer.get('elementRegistry');
        canvas.zoom('fit-viewport', 'auto');
        [
          ['data-completed', 'paso-completado'],
          ['data-current', 'paso-actual'],
          ['data-waiting', 'paso-en-espera'],
          ['data-added', 'diff-anadido'],
          ['data-removed', 'diff-quitado'],
          ['data-changed', 'diff-cambiado']
        ].forEach(function (pair) {
          ids(container, pair[0]).forEach(function (id) {
            if (registry.get(id)) {
              canvas.addMarker(id, pair[1]);
            }
          });
        });
        container.classList.add('is-ready');
      })
      .catch(function () {
        fail(container);
      });
  }

  document.querySelectorAll('[data-bpmn-viewer]').forEach(show);
})();
