/* Centro 311 — the properties panel's entries for this project's conventions.
 *
 * Each entry is a small Preact component built on @bpmn-io/properties-panel's
 * own entries (text field, select, text area, checkbox), writing through
 * bpmn-js's command stack so every edit can be undone. Code fields send
 * what is typed to the server, which checks it with the restricted compiler
 * a deploy uses, and show its problems under the field.
 */
import { createElement as h } from '@bpmn-io/properties-panel/preact';
import { useEffect, useRef, useState } from '@bpmn-io/properties-panel/preact/hooks';
import {
  CheckboxEntry,
  SelectEntry,
  TextAreaEntry,
  TextFieldEntry
} from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

import {
  getInstructions,
  getProperty,
  setInstructions,
  setProperty
} from './extensions.js';
import * as server from './server.js';

var t = server.label;

/* A text property (`estado`, `plazo`, `hitos`). */
export function PropertyText(props) {
  var injector = useService('injector');
  var debounce = useService('debounceInput');
  return h(TextFieldEntry, {
    element: props.element,
    id: props.id,
    label: props.label,
    description: props.description,
    debounce: debounce,
    getValue: function () { return getProperty(props.element, props.property); },
    setValue: function (value) {
      setProperty(injector, props.element, props.property, (value || '').trim());
    }
  });
}

/* A property chosen from a list (`marca`, `hito`). */
export function PropertySelect(props) {
  var injector = useService('injector');
  return h(SelectEntry, {
    element: props.element,
    id: props.id,
    label: props.label,
    getValue: function () { return getProperty(props.element, props.property); },
    setValue: function (value) {
      setProperty(injector, props.element, props.property, value);
    },
    getOptions: function () {
      var current = getProperty(props.element, props.property);
      var options = [{ value: '', label: props.none }].concat(props.options());
      var known = options.some(function (o) { return o.value === current; });
      if (current && !known) {
        options.push({ value: current, label: current + ' ' + t('unknownValue') });
      }
      return options;
    }
  });
}

/* `encuesta=true`: the element stores the citizen's survey answer. */
export function SurveyToggle(props) {
  var injector = useService('injector');
  return h(CheckboxEntry, {
    element: props.element,
    id: props.id,
    label: t('encuesta'),
    getValue: function () { return getProperty(props.element, 'encuesta') === 'true'; },
    setValue: function (value) {
      setProperty(injector, props.element, 'encuesta', value ? 'true' : '');
    }
  });
}

/* The form of a start event or user task, with a link to edit it. */
export function FormSelect(props) {
  var injector = useService('injector');
  var forms = server.get('forms') || [];
  var current = getProperty(props.element, 'formJsonSchemaFilename');
  var missing = current && forms.indexOf(current) < 0;
  var select = h(SelectEntry, {
    element: props.element,
    id: props.id,
    label: t('form'),
    getValue: function () {
      return getProperty(props.element, 'formJsonSchemaFilename');
    },
    setValue: function (value) {
      setProperty(injector, props.element, 'formJsonSchemaFilename', value);
    },
    getOptions: function () {
      var options = [{ value: '', label: t('noForm') }].concat(
        forms.map(function (name) { return { value: name, label: name }; }));
      if (missing) {
        options.push({ value: current, label: current });
      }
      return options;
    }
  });
  var after = null;
  if (missing) {
    after = h('p', { class: 'bio-properties-panel-error c311-note', role: 'alert' },
      t('missingForm'));
  } else if (current) {
    var url = server.get('formUrl').replace('__NAME__', encodeURIComponent(current));
    after = h('p', { class: 'c311-note' },
      h('a', { href: url, target: '_blank', rel: 'noopener', class: 'c311-form-link' },
        t('openForm') + ' (' + current + ')'));
  }
  return h('div', { class: 'c311-entry' }, select, after);
}

/* Markdown instructions with the preview users will see. */
export function Instructions(props) {
  var injector = useService('injector');
  var debounce = useService('debounceInput');
  var text = getInstructions(props.element);
  var state = useState({ html: '', problems: [] });
  var preview = state[0];
  var setPreview = state[1];
  var asked = useRef(0);
  useEffect(function () {
    var turn = ++asked.current;
    if (!text) {
      setPreview({ html: '', problems: [] });
      return;
    }
    server.previewInstructions(text).then(function (result) {
      if (turn === asked.current) {
        setPreview(result);
      }
    }).catch(function () {
      if (turn === asked.current) {
        setPreview({ html: '', problems: [t('checkFailed')] });
      }
    });
  }, [text]);
  return h('div', { class: 'c311-entry' },
    h(TextAreaEntry, {
      element: props.element,
      id: props.id,
      label: t('instructions'),
      debounce: debounce,
      rows: 6,
      getValue: function () { return getInstructions(props.element); },
      setValue: function (value) { setInstructions(injector, props.element, value); }
    }),
    text ? h('div', { class: 'c311-preview' },
      h('p', { class: 'c311-preview-title' }, t('preview')),
      preview.problems.length
        ? h('p', { class: 'bio-properties-panel-error' }, preview.problems.join(' '))
        // The server renders Markdown with raw HTML disabled.
        : h('div', { class: 'c311-markdown', dangerouslySetInnerHTML: { __html: preview.html } })
    ) : null
  );
}

/* The outcome of a live check under a code field. */
function useCheck(kind, source, timer) {
  var state = useState({ pending: false, ok: true, problems: [], failed: false });
  var asked = useRef(0);
  useEffect(function () {
    var turn = ++asked.current;
    if (!source && kind !== 'timer') {
      state[1]({ pending: false, ok: true, problems: [], failed: false });
      return;
    }
    state[1]({ pending: true, ok: true, problems: [], failed: false });
    server.checkCode(kind, source || '', timer).then(function (result) {
      if (turn === asked.current) {
        state[1]({ pending: false, ok: result.ok, problems: result.problems, failed: false });
      }
    }).catch(function () {
      if (turn === asked.current) {
        state[1]({ pending: false, ok: true, problems: [], failed: true });
      }
    });
  }, [kind, source, timer]);
  return state[0];
}

function CheckResult(props) {
  var check = props.check;
  var id = props.id + '-comprobacion';
  if (check.pending) {
    return h('p', { id: id, class: 'c311-check c311-check-pending', role: 'status' }, t('checking'));
  }
  if (check.failed) {
    return h('p', { id: id, class: 'c311-check', role: 'status' }, t('checkFailed'));
  }
  if (!check.ok) {
    return h('div', { id: id, class: 'c311-check bio-properties-panel-error', role: 'alert' },
      h('ul', { class: 'c311-check-errors' },
        check.problems.map(function (text) { return h('li', null, text); })));
  }
  if (props.source) {
    return h('p', { id: id, class: 'c311-check c311-check-ok', role: 'status' }, t('codeOk'));
  }
  return null;
}

/* A code field (script, condition, timer expression) checked while typing. */
export function CodeField(props) {
  var debounce = useService('debounceInput');
  var source = props.getValue(props.element);
  var check = useCheck(props.kind, source, props.timer);
  return h('div', { class: 'c311-entry c311-code', 'data-code-kind': props.kind },
    h(TextAreaEntry, {
      element: props.element,
      id: props.id,
      label: props.label,
      debounce: debounce,
      monospace: true,
      rows: props.rows || 3,
      getValue: props.getValue,
      setValue: props.setValue
    }),
    h(CheckResult, { id: props.id, check: check, source: source }));
}

export function ScriptField(props) {
  var commandStack = useService('commandStack');
  var bo = getBusinessObject(props.element);
  return h(CodeField, {
    element: props.element,
    id: props.id,
    kind: 'script',
    label: t('script'),
    rows: 8,
    getValue: function () { return bo.get('script') || ''; },
    setValue: function (value) {
      commandStack.execute('element.updateModdleProperties', {
        element: props.element,
        moddleElement: bo,
        properties: { script: value || undefined }
      });
    }
  });
}

export function ConditionField(props) {
  var commandStack = useService('commandStack');
  var bpmnFactory = useService('bpmnFactory');
  var bo = getBusinessObject(props.element);
  return h(CodeField, {
    element: props.element,
    id: props.id,
    kind: 'condition',
    label: t('condition'),
    getValue: function () {
      var expression = bo.get('conditionExpression');
      return (expression && expression.get('body')) || '';
    },
    setValue: function (value) {
      var expression;
      if (value) {
        expression = bpmnFactory.create('bpmn:FormalExpression', { body: value });
        expression.$parent = bo;
      }
      commandStack.execute('element.updateModdleProperties', {
        element: props.element,
        moddleElement: bo,
        properties: { conditionExpression: expression }
      });
    }
  });
}

var TIMER_KINDS = ['timeDate', 'timeDuration', 'timeCycle'];

export function timerDefinition(element) {
  var bo = getBusinessObject(element);
  var definitions = bo.get('eventDefinitions') || [];
  return definitions.filter(function (d) { return is(d, 'bpmn:TimerEventDefinition'); })[0];
}

function timerKind(definition) {
  return TIMER_KINDS.filter(function (k) { return definition.get(k); })[0] || '';
}

function writeTimer(commandStack, bpmnFactory, element, definition, kind, body) {
  var properties = { timeDate: undefined, timeDuration: undefined, timeCycle: undefined };
  if (kind) {
    var expression = bpmnFactory.create('bpmn:FormalExpression', { body: body || undefined });
    expression.$parent = definition;
    properties[kind] = expression;
  }
  commandStack.execute('element.updateModdleProperties', {
    element: element, moddleElement: definition, properties: properties
  });
}

export function TimerKind(props) {
  var commandStack = useService('commandStack');
  var bpmnFactory = useService('bpmnFactory');
  var definition = timerDefinition(props.element);
  return h(SelectEntry, {
    element: props.element,
    id: props.id,
    label: t('timerKind'),
    getValue: function () { return timerKind(definition); },
    setValue: function (kind) {
      var old = timerKind(definition);
      var body = old ? definition.get(old).get('body') : '';
      writeTimer(commandStack, bpmnFactory, props.element, definition, kind, body);
    },
    getOptions: function () {
      return [{ value: '', label: t('noMarca') }].concat(TIMER_KINDS.map(function (k) {
        return { value: k, label: t(k) };
      }));
    }
  });
}

export function TimerExpression(props) {
  var commandStack = useService('commandStack');
  var bpmnFactory = useService('bpmnFactory');
  var definition = timerDefinition(props.element);
  var kind = timerKind(definition) || 'timeDate';
  return h(CodeField, {
    element: props.element,
    id: props.id,
    kind: 'timer',
    timer: kind,
    label: t('timerExpression'),
    rows: 2,
    getValue: function () {
      var current = timerKind(definition);
      return current ? definition.get(current).get('body') || '' : '';
    },
    setValue: function (value) {
      writeTimer(commandStack, bpmnFactory, props.element, definition, kind, value);
    }
  });
}

/* The expression a business-day deadline needs, e.g. `plazo_habil(5)` or,
 * for a reminder some hours before, `antes_de(plazo_habil(5), 24)`. */
export function deadlineExpression(days, hoursBefore) {
  var expression = 'plazo_habil(' + days + ')';
  if (hoursBefore > 0) {
    expression = 'antes_de(' + expression + ', ' + hoursBefore + ')';
  }
  return expression;
}

/* A builder for business-day deadlines: writes a `timeDate` expression. */
export function TimerBuilder(props) {
  var commandStack = useService('commandStack');
  var bpmnFactory = useService('bpmnFactory');
  var definition = timerDefinition(props.element);
  var days = useState('2');
  var hours = useState('0');
  var base = props.id;
  function apply(event) {
    event.preventDefault();
    var n = parseInt(days[0], 10);
    var before = parseFloat(hours[0]);
    if (!(n >= 0)) {
      return;
    }
    writeTimer(commandStack, bpmnFactory, props.element, definition, 'timeDate',
      deadlineExpression(n, before > 0 ? before : 0));
  }
  return h('fieldset', { class: 'bio-properties-panel-entry c311-builder', 'data-entry-id': base },
    h('legend', null, t('builder')),
    h('label', { for: base + '-dias' }, t('days')),
    h('input', {
      id: base + '-dias', type: 'number', min: '0', max: '365', step: '1',
      class: 'bio-properties-panel-input', value: days[0],
      onInput: function (e) { days[1](e.target.value); }
    }),
    h('label', { for: base + '-horas' }, t('hoursBefore')),
    h('input', {
      id: base + '-horas', type: 'number', min: '0', max: '240', step: '1',
      class: 'bio-properties-panel-input', value: hours[0],
      onInput: function (e) { hours[1](e.target.value); }
    }),
    h('button', { type: 'button', class: 'button button-small c311-apply', onClick: apply },
      t('apply')));
}

/* A lane's name is the role whose people do its tasks. */
export function LaneRole(props) {
  var modeling = useService('modeling');
  return h(SelectEntry, {
    element: props.element,
    id: props.id,
    label: t('role'),
    getValue: function () { return getBusinessObject(props.element).get('name') || ''; },
    setValue: function (value) {
      modeling.updateProperties(props.element, { name: value || undefined });
    },
    getOptions: function () {
      var current = getBusinessObject(props.element).get('name') || '';
      var options = [{ value: '', label: t('noMarca') }].concat(server.get('roles') || []);
      var known = options.some(function (o) { return o.value === current; });
      if (current && !known) {
        options.push({ value: current, label: current + ' ' + t('unknownRole') });
      }
      return options;
    }
  });
}

/* The id of an element that came with the deployed diagram: shown, not edited. */
export function LockedId(props) {
  var id = getBusinessObject(props.element).get('id');
  return h('div', { class: 'bio-properties-panel-entry', 'data-entry-id': props.id },
    h('label', { class: 'bio-properties-panel-label', for: 'c311-id' }, t('idLabel')),
    h('input', {
      id: 'c311-id', class: 'bio-properties-panel-input', readOnly: true, value: id,
      'aria-describedby': 'c311-id-help'
    }),
    h('p', { id: 'c311-id-help', class: 'bio-properties-panel-description' }, t('idLocked')));
}
