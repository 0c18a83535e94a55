/* Centro 311 — bpmnlint rules for this project's BPMN conventions.
 *
 * Each rule is a bpmnlint rule factory: `check(node, reporter)` is called
 * for every element of the diagram. Messages come from the server in the
 * reader's language (see lint/config.js). The checks mirror the deploy's:
 * a lane is named after a role; user tasks and the start event name a form
 * the bundle has; marks and milestones are ones the engine knows.
 */
import { is } from 'bpmnlint-utils';

function properties(node) {
  var ext = node.extensionElements;
  var values = (ext && ext.values) || [];
  var found = {};
  values.forEach(function (value) {
    if (is(value, 'spiffworkflow:Properties')) {
      (value.properties || []).forEach(function (p) {
        found[p.name] = p.value || '';
      });
    }
  });
  return found;
}

function topLevelStart(node) {
  return is(node, 'bpmn:StartEvent') && node.$parent && is(node.$parent, 'bpmn:Process');
}

export function makeRules(vocabulary) {
  var roles = vocabulary.roles;
  var forms = vocabulary.forms;
  var marks = vocabulary.marks;
  var milestones = vocabulary.milestones;
  return {
    'lane-role': function () {
      return {
        check: function (node, reporter) {
          if (!is(node, 'bpmn:Lane')) {
            return;
          }
          var children = node.childLaneSet && node.childLaneSet.lanes;
          if (children && children.length) {
            return;
          }
          if (roles.indexOf((node.name || '').trim()) < 0) {
            reporter.report(node.id, 'lane-role');
          }
        }
      };
    },
    'user-task-form': function () {
      return {
        check: function (node, reporter) {
          if (is(node, 'bpmn:UserTask') && !properties(node).formJsonSchemaFilename) {
            reporter.report(node.id, 'user-task-form');
          }
        }
      };
    },
    'start-event-form': function () {
      return {
        check: function (node, reporter) {
          if (topLevelStart(node) && !properties(node).formJsonSchemaFilename) {
            reporter.report(node.id, 'start-event-form');
          }
        }
      };
    },
    'known-form': function () {
      return {
        check: function (node, reporter) {
          var form = properties(node).formJsonSchemaFilename;
          if (form && forms.indexOf(form) < 0) {
            reporter.report(node.id, 'known-form');
          }
        }
      };
    },
    'known-mark': function () {
      return {
        check: function (node, reporter) {
          var mark = properties(node).marca;
          if (!mark) {
            return;
          }
          var unknown = mark.split(',').some(function (m) {
            return m.trim() && marks.indexOf(m.trim()) < 0;
          });
          if (unknown) {
            reporter.report(node.id, 'known-mark');
          }
        }
      };
    },
    'declared-milestone': function () {
      return {
        check: function (node, reporter) {
          var key = properties(node).hito;
          if (key && milestones().indexOf(key) < 0) {
            reporter.report(node.id, 'declared-milestone');
          }
        }
      };
    }
  };
}
