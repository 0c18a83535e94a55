/* Centro 311 — the lint configuration: bpmnlint's recommended rules plus
 * ours, bundled (no loader needed) with a resolver bpmn-js-bpmnlint accepts.
 *
 * Rule messages are replaced by the Spanish sentence the server sends for
 * each rule, so the linting overlays speak the designer's language.
 */
import recommended from 'bpmnlint/config/recommended';

import adHocSubProcess from 'bpmnlint/rules/ad-hoc-sub-process';
import conditionalFlows from 'bpmnlint/rules/conditional-flows';
import endEventRequired from 'bpmnlint/rules/end-event-required';
import eventBasedGateway from 'bpmnlint/rules/event-based-gateway';
import eventSubProcessTypedStartEvent from 'bpmnlint/rules/event-sub-process-typed-start-event';
import fakeJoin from 'bpmnlint/rules/fake-join';
import global from 'bpmnlint/rules/global';
import labelRequired from 'bpmnlint/rules/label-required';
import linkEvent from 'bpmnlint/rules/link-event';
import noBpmndi from 'bpmnlint/rules/no-bpmndi';
import noComplexGateway from 'bpmnlint/rules/no-complex-gateway';
import noDisconnected from 'bpmnlint/rules/no-disconnected';
import noDuplicateSequenceFlows from 'bpmnlint/rules/no-duplicate-sequence-flows';
import noGatewayJoinFork from 'bpmnlint/rules/no-gateway-join-fork';
import noImplicitEnd from 'bpmnlint/rules/no-implicit-end';
import noImplicitSplit from 'bpmnlint/rules/no-implicit-split';
import noImplicitStart from 'bpmnlint/rules/no-implicit-start';
import noInclusiveGateway from 'bpmnlint/rules/no-inclusive-gateway';
import noOverlappingElements from 'bpmnlint/rules/no-overlapping-elements';
import singleBlankStartEvent from 'bpmnlint/rules/single-blank-start-event';
import singleEventDefinition from 'bpmnlint/rules/single-event-definition';
import startEventRequired from 'bpmnlint/rules/start-event-required';
import subProcessBlankStartEvent from 'bpmnlint/rules/sub-process-blank-start-event';
import superfluousGateway from 'bpmnlint/rules/superfluous-gateway';
import superfluousLabel from 'bpmnlint/rules/superfluous-label';
import superfluousTermination from 'bpmnlint/rules/superfluous-termination';

import { makeRules } from './rules.js';

var BUILTIN = {
  'ad-hoc-sub-process': adHocSubProcess,
  'conditional-flows': conditionalFlows,
  'end-event-required': endEventRequired,
  'event-based-gateway': eventBasedGateway,
  'event-sub-process-typed-start-event': eventSubProcessTypedStartEvent,
  'fake-join': fakeJoin,
  'global': global,
  'label-required': labelRequired,
  'link-event': linkEvent,
  'no-bpmndi': noBpmndi,
  'no-complex-gateway': noComplexGateway,
  'no-disconnected': noDisconnected,
  'no-duplicate-sequence-flows': noDuplicateSequenceFlows,
  'no-gateway-join-fork': noGatewayJoinFork,
  'no-implicit-end': noImplicitEnd,
  'no-implicit-split': noImplicitSplit,
  'no-implicit-start': noImplicitStart,
  'no-inclusive-gateway': noInclusiveGateway,
  'no-overlapping-elements': noOverlappingElements,
  'single-blank-start-event': singleBlankStartEvent,
  'single-event-definition': singleEventDefinition,
  'start-event-required': startEventRequired,
  'sub-process-blank-start-event': subProcessBlankStartEvent,
  'superfluous-gateway': superfluousGateway,
  'superfluous-label': superfluousLabel,
  'superfluous-termination': superfluousTermination
};

var PLUGIN = 'bpmnlint-plugin-centro311';

/* A rule whose reports carry the server's sentence for `name`. */
function translated(factory, name, messages) {
  return function (config) {
    var rule = factory(config);
    var check = rule.check;
    function wrap(fn) {
      return function (node, reporter) {
        var proxy = {
          report: function (id, message, extra) {
            reporter.report(id, messages[name] || message, extra);
          }
        };
        return fn(node, proxy);
      };
    }
    if (typeof check === 'function') {
      return { check: wrap(check), meta: rule.meta };
    }
    return {
      check: {
        enter: check.enter && wrap(check.enter),
        leave: check.leave && wrap(check.leave)
      },
      meta: rule.meta
    };
  };
}

/* { config, resolver } for bpmn-js-bpmnlint's `linting.bpmnlint` option. */
export function lintConfig(messages, vocabulary) {
  var ours = makeRules(vocabulary);
  var rules = {};
  Object.keys(recommended.rules).forEach(function (name) {
    rules[name] = recommended.rules[name];
  });
  Object.keys(ours).forEach(function (name) {
    rules['centro311/' + name] = 'error';
  });
  return {
    config: { rules: rules },
    resolver: {
      resolveRule: function (pkg, ruleName) {
        if (pkg === 'bpmnlint' && BUILTIN[ruleName]) {
          return translated(BUILTIN[ruleName], ruleName, messages);
        }
        if (pkg === PLUGIN && ours[ruleName]) {
          return translated(ours[ruleName], 'centro311/' + ruleName, messages);
        }
        return null;
      },
      resolveConfig: function () {
        return null;
      }
    }
  };
}
