/* Centro 311 — reading and writing SpiffWorkflow extension elements.
 *
 * The engine reads `spiffworkflow:property` name/value pairs inside
 * `spiffworkflow:properties`, and `spiffworkflow:instructionsForEndUser`,
 * both inside the element's `bpmn:extensionElements`. Every write here is
 * one command on bpmn-js's command stack (so undo/redo works) and removes
 * containers it leaves empty, so an element without properties stays as
 * plain as a hand-written one.
 */
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

export function extensionValues(element, type) {
  var bo = getBusinessObject(element);
  var ext = bo.get('extensionElements');
  var values = (ext && ext.get('values')) || [];
  return values.filter(function (value) {
    return is(value, type);
  });
}

function propertyList(element) {
  var containers = extensionValues(element, 'spiffworkflow:Properties');
  return containers.length ? containers[0] : null;
}

/* The value of `spiffworkflow:property` `name`, or '' when absent. */
export function getProperty(element, name) {
  var container = propertyList(element);
  if (!container) {
    return '';
  }
  var found = container.get('properties').filter(function (p) {
    return p.name === name;
  });
  return found.length ? found[0].value || '' : '';
}

export function getInstructions(element) {
  var found = extensionValues(element, 'spiffworkflow:InstructionsForEndUser');
  return found.length ? found[0].value || '' : '';
}

function command(element, moddleElement, properties) {
  return {
    cmd: 'element.updateModdleProperties',
    context: { element: element, moddleElement: moddleElement, properties: properties }
  };
}

/* Commands that give `bo` an extensionElements container; returns it. */
function ensureExtensions(element, bo, bpmnFactory, commands) {
  var ext = bo.get('extensionElements');
  if (!ext) {
    ext = bpmnFactory.create('bpmn:ExtensionElements', { values: [] });
    ext.$parent = bo;
    commands.push(command(element, bo, { extensionElements: ext }));
  }
  return ext;
}

/* Replace the extension value `old` by `replacement` (either may be null). */
function replaceValue(element, bo, ext, old, replacement, commands) {
  var values = ext.get('values').filter(function (v) {
    return v !== old;
  });
  if (replacement) {
    replacement.$parent = ext;
    values.push(replacement);
  }
  if (values.length) {
    commands.push(command(element, ext, { values: values }));
  } else {
    commands.push(command(element, bo, { extensionElements: undefined }));
  }
}

function run(injector, commands) {
  if (commands.length) {
    injector.get('commandStack').execute(
      'properties-panel.multi-command-executor', commands);
  }
}

/* Set `spiffworkflow:property` `name` to `value` ('' removes it). */
export function setProperty(injector, element, name, value) {
  var bpmnFactory = injector.get('bpmnFactory');
  var bo = getBusinessObject(element);
  var commands = [];
  var container = propertyList(element);
  var current = container ? container.get('properties') : [];
  var existing = current.filter(function (p) { return p.name === name; })[0];
  value = value || '';
  if (existing && existing.value === value) {
    return;
  }
  if (!existing && !value) {
    return;
  }
  if (existing && value) {
    commands.push(command(element, existing, { value: value }));
    run(injector, commands);
    return;
  }
  var kept = current.filter(function (p) { return p !== existing; });
  if (value) {
    var property = bpmnFactory.create('spiffworkflow:Property', {
      name: name, value: value
    });
    kept.push(property);
  }
  var ext = ensureExtensions(element, bo, bpmnFactory, commands);
  if (!container) {
    container = bpmnFactory.create('spiffworkflow:Properties', { properties: [] });
    replaceValue(element, bo, ext, null, container, commands);
  }
  kept.forEach(function (p) { p.$parent = container; });
  if (kept.length) {
    commands.push(command(element, container, { properties: kept }));
  } else {
    replaceValue(element, bo, ext, container, null, commands);
  }
  run(injector, commands);
}

/* Set the Markdown instructions ('' removes them). */
export function setInstructions(injector, element, text) {
  var bpmnFactory = injector.get('bpmnFactory');
  var bo = getBusinessObject(element);
  var commands = [];
  var existing = extensionValues(element, 'spiffworkflow:InstructionsForEndUser')[0];
  text = text || '';
  if (existing && text) {
    commands.push(command(element, existing, { value: text }));
  } else if (existing) {
    replaceValue(element, bo, bo.get('extensionElements'), existing, null, commands);
  } else if (text) {
    var ext = ensureExtensions(element, bo, bpmnFactory, commands);
    var created = bpmnFactory.create('spiffworkflow:InstructionsForEndUser', {
      value: text
    });
    replaceValue(element, bo, ext, null, created, commands);
  }
  run(injector, commands);
}
