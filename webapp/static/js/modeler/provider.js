/* Centro 311 — which entries the properties panel shows for an element.
 *
 * Start event and user tasks: form and instructions; any flow node: public
 * status, milestone, deadline variable, mark and survey; lanes: the role;
 * flows leaving a gateway: the condition; script tasks: the script; timer
 * events: the timer with a business-day builder. bpmn-js's own Timer group
 * is replaced by ours, and ids that came with the deployed diagram are shown
 * read-only (running cases and rules refer to them).
 */
import { Group, isSelectEntryEdited, isTextFieldEntryEdited } from '@bpmn-io/properties-panel';
import { getBusinessObject, is, isAny } from 'bpmn-js/lib/util/ModelUtil';

import {
  ConditionField,
  FormSelect,
  Instructions,
  LaneRole,
  LockedId,
  PropertySelect,
  PropertyText,
  ScriptField,
  SurveyToggle,
  TimerBuilder,
  TimerExpression,
  TimerKind,
  timerDefinition
} from './entries.js';
import { getProperty } from './extensions.js';
import * as server from './server.js';

var t = server.label;

/* The milestones the start event declares (`hitos`: "clave: Etiqueta; …"). */
export function declaredMilestones(elementRegistry) {
  var starts = elementRegistry.filter(function (e) {
    return is(e, 'bpmn:StartEvent') && getProperty(e, 'hitos');
  });
  if (!starts.length) {
    return [];
  }
  return getProperty(starts[0], 'hitos').split(';').map(function (part) {
    var pieces = part.split(':');
    var key = pieces[0].trim();
    var text = pieces.slice(1).join(':').trim();
    return { value: key, label: text ? key + ' — ' + text : key };
  }).filter(function (o) { return o.value; });
}

function isConditional(element) {
  if (!is(element, 'bpmn:SequenceFlow')) {
    return false;
  }
  var source = getBusinessObject(element).get('sourceRef');
  return isAny(source, ['bpmn:ExclusiveGateway', 'bpmn:InclusiveGateway']);
}

function isLeafLane(element) {
  if (!is(element, 'bpmn:Lane')) {
    return false;
  }
  var children = getBusinessObject(element).get('childLaneSet');
  return !(children && children.get('lanes').length);
}

export default function ConventionsProvider(propertiesPanel, elementRegistry, eventBus) {
  var original = {};
  this._original = original;
  eventBus.on('import.done', function () {
    Object.keys(original).forEach(function (k) { delete original[k]; });
    elementRegistry.getAll().forEach(function (e) {
      original[e.id] = true;
    });
  });

  this.getGroups = function (element) {
    return function (groups) {
      groups = groups.filter(function (g) { return g.id !== 'timer'; });
      groups.forEach(function (group) {
        if (group.id !== 'general') {
          return;
        }
        group.shouldOpen = true;
        group.entries = group.entries.map(function (entry) {
          if (entry.id === 'id' && original[element.id]) {
            return { id: 'id', component: LockedId };
          }
          return entry;
        }).filter(function (entry) {
          // A lane's name is its role: picked below, not typed here.
          return !(entry.id === 'name' && is(element, 'bpmn:Lane'));
        });
      });
      var extra = conventionGroups(element, elementRegistry);
      var at = Math.min(1, groups.length);
      return groups.slice(0, at).concat(extra, groups.slice(at));
    };
  };

  propertiesPanel.registerProvider(400, this);
}

ConventionsProvider.$inject = ['propertiesPanel', 'elementRegistry', 'eventBus'];

function conventionGroups(element, elementRegistry) {
  var groups = [];
  if (isLeafLane(element)) {
    groups.push({
      id: 'c311-lane', shouldOpen: true, label: t('role'), component: Group,
      entries: [{ id: 'c311-rol', component: LaneRole, isEdited: isSelectEntryEdited }]
    });
  }
  if (isConditional(element)) {
    groups.push({
      id: 'c311-condition', shouldOpen: true, label: t('conditionGroup'), component: Group,
      entries: [{ id: 'c311-condicion', component: ConditionField }]
    });
  }
  if (is(element, 'bpmn:ScriptTask')) {
    groups.push({
      id: 'c311-script', shouldOpen: true, label: t('scriptGroup'), component: Group,
      entries: [{ id: 'c311-script', component: ScriptField }]
    });
  }
  if (is(element, 'bpmn:Event') && timerDefinition(element)) {
    groups.push({
      id: 'c311-timer', shouldOpen: true, label: t('timerGroup'), component: Group,
      entries: [
        { id: 'c311-timer-tipo', component: TimerKind },
        { id: 'c311-timer-expresion', component: TimerExpression },
        { id: 'c311-timer-constructor', component: TimerBuilder }
      ]
    });
  }
  if (!is(element, 'bpmn:FlowNode') || is(element, 'bpmn:SequenceFlow')) {
    return groups;
  }
  var entries = [];
  if (isAny(element, ['bpmn:StartEvent', 'bpmn:UserTask'])) {
    entries.push({ id: 'c311-formulario', component: FormSelect, isEdited: isSelectEntryEdited });
    entries.push({ id: 'c311-instrucciones', component: Instructions });
  }
  if (is(element, 'bpmn:StartEvent')) {
    entries.push({
      id: 'c311-hitos', component: PropertyText, property: 'hitos',
      label: t('milestones'), isEdited: isTextFieldEntryEdited
    });
  }
  entries.push({
    id: 'c311-estado', component: PropertyText, property: 'estado',
    label: t('estado'), description: t('estadoHelp'), isEdited: isTextFieldEntryEdited
  });
  entries.push({
    id: 'c311-hito', component: PropertySelect, property: 'hito', label: t('hito'),
    none: t('noHito'), isEdited: isSelectEntryEdited,
    options: function () { return declaredMilestones(elementRegistry); }
  });
  entries.push({
    id: 'c311-plazo', component: PropertyText, property: 'plazo',
    label: t('plazo'), isEdited: isTextFieldEntryEdited
  });
  entries.push({
    id: 'c311-marca', component: PropertySelect, property: 'marca', label: t('marca'),
    none: t('noMarca'), isEdited: isSelectEntryEdited,
    options: function () { return server.get('marks') || []; }
  });
  entries.push({ id: 'c311-encuesta', component: SurveyToggle });
  groups.push({
    id: 'c311-conventions', label: t('conventions'), component: Group, entries: entries,
    shouldOpen: true
  });
  return groups;
}
