/* Centro 311 — BPMN modeler with a small properties panel.
 *
 * Opens the diagram at `data-diagram-url` (or, after a refused save, the
 * XML the server kept in the hidden field `#diagrama-xml`). The panel shows
 * the selected element's id (read-only) and its name; typing a name updates
 * the label on the canvas through bpmn-js `modeling.updateLabel`. Elements
 * can be chosen from a list too, so the panel works from the keyboard.
 * Saving serialises the diagram into the hidden field and submits the
 * ordinary form, which deploys it as a new version.
 */
(function () {
  'use strict';

  var root = document.getElementById('modelador');
  if (!root || typeof window.BpmnJS !== 'function') {
    return;
  }
  var form = document.getElementById('guardar-version');
  var xmlField = document.getElementById('diagrama-xml');
  var picker = document.getElementById('elemento-elegido');
  var idField = document.getElementById('elemento-id');
  var nameField = document.getElementById('elemento-nombre');
  var typeNote = document.getElementById('elemento-tipo');
  var status = document.getElementById('guardar-estado');
  var saveButton = document.getElementById('guardar');

  var modeler = new window.BpmnJS({ container: '#lienzo' });
  var registry = modeler.get('elementRegistry');
  var selection = modeler.get('selection');
  var modeling = modeler.get('modeling');
  var canvas = modeler.get('canvas');
  var eventBus = modeler.get('eventBus');
  var selected = null;
  var dirty = false;
  var saving = false;

  function text(name) {
    return root.getAttribute(name) || '';
  }

  function label(element) {
    var bo = element.businessObject || {};
    return bo.name ? bo.name + ' (' + bo.id + ')' : bo.id;
  }

  function nameable(element) {
    return element && element.type !== 'label' && element.businessObject &&
      element.businessObject.id && element.parent;
  }

  var kinds = {};
  try {
    kinds = JSON.parse(root.getAttribute('data-kinds') || '{}');
  } catch (err) {
    kinds = {};
  }

  function kind(element) {
    var type = (element.type || '').replace(/^bpmn:/, '');
    return kinds[type] || type;
  }

  function fillPicker() {
    var keep = picker.value;
    var elements = registry.filter(nameable).sort(function (a, b) {
      return label(a).localeCompare(label(b), 'es');
    });
    while (picker.options.length > 1) {
      picker.remove(1);
    }
    elements.forEach(function (element) {
      var option = document.createElement('option');
      option.value = element.id;
      option.textContent = label(element) + ' — ' + kind(element);
      picker.appendChild(option);
    });
    picker.value = keep;
  }

  function show(element) {
    selected = nameable(element) ? element : null;
    if (!selected) {
      idField.value = '';
      nameField.value = '';
      nameField.disabled = true;
      typeNote.textContent = '';
      picker.value = '';
      return;
    }
    idField.value = selected.businessObject.id;
    nameField.value = selected.businessObject.name || '';
    nameField.disabled = false;
    typeNote.textContent = kind(selected);
    picker.value = selected.id;
  }

  eventBus.on('selection.changed', function (event) {
    show(event.newSelection.length === 1 ? event.newSelection[0] : null);
  });

  eventBus.on('element.changed', function (event) {
    if (selected && event.element === selected &&
        document.activeElement !== nameField) {
      nameField.value = selected.businessObject.name || '';
    }
  });

  eventBus.on('commandStack.changed', function () {
    dirty = true;
    fillPicker();
  });

  nameField.addEventListener('input', function () {
    if (selected) {
      modeling.updateLabel(selected, nameField.value);
    }
  });

  picker.addEventListener('change', function () {
    var element = picker.value ? registry.get(picker.value) : null;
    if (element) {
      selection.select(element);
      canvas.scrollToElement(element);
    } else {
      selection.select(null);
    }
  });

  window.addEventListener('beforeunload', function (event) {
    if (dirty && !saving) {
      event.preventDefault();
      event.returnValue = text('data-leave-text');
    }
  });

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    saving = true;
    saveButton.disabled = true;
    status.textContent = text('data-saving-text');
    modeler.saveXML({ format: true })
      .then(function (result) {
        xmlField.value = result.xml;
        form.submit();
      })
      .catch(function () {
        saving = false;
        saveButton.disabled = false;
        status.textContent = text('data-save-error-text');
      });
  });

  // Show the diagram at a readable scale, starting right of the palette;
  // a diagram larger than the canvas is panned by dragging or with the keys.
  function frame() {
    var box = canvas.viewbox();
    var palette = root.querySelector('.djs-palette');
    var left = (palette ? palette.getBoundingClientRect().width : 0) + 24;
    var fit = Math.min(
      (box.outer.width - left - 24) / box.inner.width,
      (box.outer.height - 48) / box.inner.height
    );
    var scale = Math.min(1, Math.max(fit, 0.8));
    canvas.viewbox({
      x: box.inner.x - left / scale,
      y: box.inner.y - 24 / scale,
      width: box.outer.width / scale,
      height: box.outer.height / scale
    });
  }

  function open(xml) {
    return modeler.importXML(xml).then(function () {
      frame();
      fillPicker();
      dirty = false;
      root.classList.add('is-ready');
    });
  }

  function failed() {
    var note = document.createElement('p');
    note.className = 'notice notice-error';
    note.setAttribute('role', 'alert');
    note.textContent = text('data-error-text');
    root.parentNode.insertBefore(note, root);
  }

  var kept = xmlField.value;
  var loading = kept
    ? open(kept)
    : fetch(text('data-diagram-url'), { credentials: 'same-origin' })
      .then(function (response) {
        if (!response.ok) {
          throw new Error('HTTP ' + response.status);
        }
        return response.text();
      })
      .then(open);
  loading.then(function () {
    // A diagram kept after a refused save still has unsaved changes.
    dirty = Boolean(kept);
  }).catch(failed);
})();
