/* Centro 311 — the BPMN modeler: bpmn-js, its properties panel with this
 * project's conventions, and live lint.
 *
 * Built by esbuild (`make setup`) into webapp/static/vendor/modeler/. Reads
 * its settings (pickers, URLs, labels in the reader's language) from the
 * JSON block `#modelador-ajustes`. Opens the diagram at `data-diagram-url`
 * (or, after a refused save, the XML the server kept in `#diagrama-xml`).
 * Saving serialises the diagram into that hidden field and submits the
 * ordinary form, which deploys it as a new version.
 */
import BpmnModeler from 'bpmn-js/lib/Modeler';
import {
  BpmnPropertiesPanelModule,
  BpmnPropertiesProviderModule
} from 'bpmn-js-properties-panel';
import lintModule from 'bpmn-js-bpmnlint';
import { getBusinessObject } from 'bpmn-js/lib/util/ModelUtil';

import { lintConfig } from './lint/config.js';
import DebounceInput from './debounce.js';
import ConventionsProvider, { declaredMilestones } from './provider.js';
import * as server from './server.js';
import spiffworkflow from './spiffworkflow.json';
import './modeler.css';

(function () {
  'use strict';

  var root = document.getElementById('modelador');
  var settingsNode = document.getElementById('modelador-ajustes');
  if (!root || !settingsNode) {
    return;
  }
  var settings = JSON.parse(settingsNode.textContent);
  var form = document.getElementById('guardar-version');
  settings.csrf = form.querySelector('input[name="csrf_token"]').value;
  server.configure(settings);
  var t = server.label;

  var xmlField = document.getElementById('diagrama-xml');
  var picker = document.getElementById('elemento-elegido');
  var typeNote = document.getElementById('elemento-tipo');
  var status = document.getElementById('guardar-estado');
  var saveButton = document.getElementById('guardar');
  var lintSummary = document.getElementById('revision-resumen');
  var lintList = document.getElementById('revision-lista');
  var translations = settings.translations || {};
  var kinds = {};
  try {
    kinds = JSON.parse(root.getAttribute('data-kinds') || '{}');
  } catch (err) {
    kinds = {};
  }


  // bpmn-js names element types in English words ("User Task"): the
  // server's names of element kinds say them in the reader's language.
  function typeName(template) {
    var words = template.replace(/[()]/g, '').split(' ');
    for (var i = 0; i < words.length; i++) {
      var type = words.slice(i).join('');
      if (kinds[type]) {
        return kinds[type];
      }
    }
    return null;
  }

  function translate(template, replacements) {
    var text = translations[template] || typeName(template) || template;
    replacements = replacements || {};
    return text.replace(/{([^}]+)}/g, function (_, key) {
      return key in replacements ? replacements[key] : '{' + key + '}';
    });
  }

  var registryRef = { current: null };
  var vocabulary = {
    roles: (settings.roles || []).map(function (r) { return r.value; }),
    forms: settings.forms || [],
    marks: (settings.marks || []).map(function (m) { return m.value; }),
    milestones: function () {
      return registryRef.current
        ? declaredMilestones(registryRef.current).map(function (o) { return o.value; })
        : [];
    }
  };

  var modeler = new BpmnModeler({
    container: '#lienzo',
    propertiesPanel: { parent: '#propiedades' },
    linting: { bpmnlint: lintConfig(settings.lint || {}, vocabulary), active: true },
    moddleExtensions: { spiffworkflow: spiffworkflow },
    additionalModules: [
      BpmnPropertiesPanelModule,
      BpmnPropertiesProviderModule,
      lintModule,
      { __init__: ['conventionsProvider'], conventionsProvider: ['type', ConventionsProvider] },
      { translate: ['value', translate] },
      { debounceInput: ['factory', DebounceInput] }
    ]
  });
  window.centro311Modeler = modeler;
  var registry = modeler.get('elementRegistry');
  registryRef.current = registry;
  var selection = modeler.get('selection');
  var canvas = modeler.get('canvas');
  var eventBus = modeler.get('eventBus');
  var dirty = false;
  var saving = false;

  function text(name) {
    return root.getAttribute(name) || '';
  }

  function kind(element) {
    var type = (element.type || '').replace(/^bpmn:/, '');
    return kinds[type] || type;
  }

  function label(element) {
    var bo = getBusinessObject(element) || {};
    return bo.name ? bo.name + ' (' + bo.id + ')' : bo.id;
  }

  function pickable(element) {
    return element && element.type !== 'label' && element.businessObject &&
      element.businessObject.id && element.parent;
  }

  function fillPicker() {
    var keep = picker.value;
    var elements = registry.filter(pickable).sort(function (a, b) {
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

  function select(id) {
    var element = id ? registry.get(id) : null;
    if (element) {
      selection.select(element);
      canvas.scrollToElement(element);
    } else {
      selection.select(null);
    }
  }

  eventBus.on('selection.changed', function (event) {
    var chosen = event.newSelection.length === 1 ? event.newSelection[0] : null;
    picker.value = pickable(chosen) ? chosen.id : '';
    typeNote.textContent = pickable(chosen) ? kind(chosen) : '';
  });

  eventBus.on('commandStack.changed', function () {
    dirty = true;
    fillPicker();
  });

  picker.addEventListener('change', function () {
    select(picker.value);
  });

  // The lint issues as a list beside the diagram: readable without the
  // overlays, and each one a button that selects its element.
  eventBus.on('linting.completed', function (event) {
    var issues = event.issues || {};
    var errors = 0;
    var warnings = 0;
    while (lintList.firstChild) {
      lintList.removeChild(lintList.firstChild);
    }
    Object.keys(issues).sort().forEach(function (id) {
      issues[id].forEach(function (issue) {
        var isError = issue.category === 'error';
        if (isError) { errors += 1; } else { warnings += 1; }
        var item = document.createElement('li');
        item.className = isError ? 'lint-error' : 'lint-warning';
        item.setAttribute('data-rule', issue.rule || '');
        var button = document.createElement('button');
        button.type = 'button';
        button.className = 'link-button';
        var element = registry.get(issue.id);
        button.textContent = (isError ? t('error') : t('warning')) + ': ' +
          (element ? label(element) : issue.id) + ' — ' + issue.message;
        button.addEventListener('click', function () { select(issue.id); });
        item.appendChild(button);
        lintList.appendChild(item);
      });
    });
    lintSummary.textContent = errors || warnings
      ? translate('{errors} Errors, {warnings} Warnings', {
        errors: String(errors), warnings: String(warnings)
      })
      : translate('No Issues');
  });

  window.addEventListener('beforeunload', function (event) {
    if (dirty && !saving) {
      event.preventDefault();
      event.returnValue = text('data-leave-text');
    }
  });

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    // Edits still waiting for the panel's typing pause go in first.
    modeler.get('debounceInput').flushAll();
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
