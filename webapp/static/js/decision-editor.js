/* Centro 311 — decision table editor (dmn-js).
 *
 * Opens the table at `data-table-url` (or, after a check or a refused save,
 * the XML the server kept in the hidden field `#tabla-xml`) in dmn-js's
 * decision table view. The values beside the table (entity codes,
 * categories, case types from the database) write themselves into the cell
 * last clicked. "Comprobar" and "Guardar" serialise the table into the
 * hidden field and submit the ordinary form with the chosen action.
 * Every text comes from the page's data attributes.
 */
(function () {
  'use strict';

  var root = document.getElementById('editor-tabla');
  if (!root || typeof window.DmnJS !== 'function') {
    return;
  }
  var form = document.getElementById('guardar-tabla');
  var xmlField = document.getElementById('tabla-xml');
  var actionField = document.getElementById('tabla-accion');
  var status = document.getElementById('guardar-estado');
  var valueStatus = document.getElementById('valor-estado');
  var canvas = document.getElementById('tabla-dmn');

  var texts = {};
  try {
    texts = JSON.parse(document.getElementById('textos-dmn').textContent || '{}');
  } catch (err) {
    texts = {};
  }

  // dmn-js's own texts, in the page's language where the page gives them.
  function translate(template, replacements) {
    var values = replacements || {};
    return (texts[template] || template).replace(/{([^}]+)}/g, function (all, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? values[key] : all;
    });
  }

  var modeler = new window.DmnJS({
    container: canvas,
    decisionTable: { additionalModules: [{ translate: ['value', translate] }] }
  });
  var lastCell = null;
  var dirty = false;
  var saving = false;

  function text(name) {
    return root.getAttribute(name) || '';
  }

  function viewer() {
    return modeler.getActiveViewer();
  }

  function openTable() {
    var view = modeler.getViews().filter(function (v) {
      return v.type === 'decisionTable';
    })[0];
    if (!view) {
      throw new Error('no decision table');
    }
    return modeler.open(view).then(function () {
      var events = viewer().get('eventBus');
      events.on('elements.changed', function () {
        dirty = true;
      });
      // The cell the designer last chose: where a known value is written.
      events.on('cellSelection.changed', function (event) {
        if (event.elementId && event.selection && event.selection.selected) {
          lastCell = event.elementId;
        }
      });
    });
  }

  function fail() {
    canvas.textContent = text('data-error-text');
    canvas.classList.add('is-failed');
  }

  function load(xml) {
    return modeler.importXML(xml).then(openTable).then(function () {
      root.classList.add('is-ready');
    });
  }

  var kept = xmlField.value;
  var ready = kept
    ? load(kept)
    : fetch(text('data-table-url'), { credentials: 'same-origin' })
        .then(function (response) {
          if (!response.ok) {
            throw new Error('HTTP ' + response.status);
          }
          return response.text();
        })
        .then(load);
  ready.catch(fail);

  root.addEventListener('click', function (event) {
    var chip = event.target.closest('.value-chip');
    if (!chip) {
      return;
    }
    var value = chip.getAttribute('data-value');
    var element = lastCell && viewer() && viewer().get('elementRegistry').get(lastCell);
    if (!element) {
      valueStatus.textContent = text('data-pick-cell-text');
      return;
    }
    viewer().get('modeling').editCell(element.businessObject, value);
    valueStatus.textContent = text('data-inserted-text') + ' ' + value;
  });

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    if (saving) {
      return;
    }
    actionField.value = (event.submitter && event.submitter.value) || 'guardar';
    saving = true;
    status.textContent = text('data-saving-text');
    modeler.saveXML({ format: true })
      .then(function (result) {
        xmlField.value = result.xml;
        dirty = false;
        form.submit();
      })
      .catch(function () {
        saving = false;
        status.textContent = text('data-save-error-text');
      });
  });

  window.addEventListener('beforeunload', function (event) {
    if (dirty && !saving) {
      event.preventDefault();
      event.returnValue = text('data-leave-text');
    }
  });
})();
