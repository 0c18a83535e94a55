/* Centro 311 — caller lookup on the phone-intake page.
 *
 * While the agent types the caller's phone, email or name (channel: phone),
 * the page asks `/buscar/llamante` (debounced) and lists the caller's earlier
 * cases; "Usar estos datos" copies their contact into the new case's fields.
 * Texts come from the panel's `data-msg-*` attributes (translated by the
 * server); everything is built with textContent, never HTML. Without this
 * script the panel is a plain GET form that the server answers the same way.
 */
(function () {
  'use strict';

  var DELAY_MS = 300;
  var MIN_CHARS = 3;

  var panel = document.getElementById('buscar-llamante');
  if (!panel) {
    return;
  }
  var input = document.getElementById('llamante');
  var results = document.getElementById('llamante-resultados');
  var form = panel.querySelector('form');
  var channel = document.getElementById('canal');
  var timer = null;
  var asked = 0;

  function msg(name) {
    return panel.getAttribute('data-msg-' + name) || '';
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function note(text) {
    results.replaceChildren(element('p', 'caller-note', text));
  }

  function onPhone() {
    return !channel || channel.value === 'phone';
  }

  function fill(values) {
    var first = null;
    Object.keys(values).forEach(function (name) {
      var field = document.getElementById(name);
      if (field && 'value' in field) {
        field.value = values[name];
        field.dispatchEvent(new Event('input', { bubbles: true }));
        first = first || field;
      }
    });
    var done = element('p', 'caller-note caller-used', msg('used'));
    done.setAttribute('role', 'status');
    results.appendChild(done);
    if (first) {
      first.focus();
    }
  }

  function casesTable(cases) {
    var table = element('table', 'table caller-cases');
    table.appendChild(element('caption', 'sr-only', msg('cases')));
    var head = element('thead');
    var row = element('tr');
    ['number', 'type', 'status', 'entity'].forEach(function (col) {
      var th = element('th', '', panel.getAttribute('data-col-' + col) || '');
      th.setAttribute('scope', 'col');
      row.appendChild(th);
    });
    head.appendChild(row);
    table.appendChild(head);
    var body = element('tbody');
    cases.forEach(function (c) {
      var tr = element('tr');
      var number = element('td');
      var link = element('a', '', c.number);
      link.href = c.url;
      number.appendChild(link);
      tr.appendChild(number);
      tr.appendChild(element('td', '', c.type));
      tr.appendChild(element('td', '', c.public_status ? c.status + ' · ' + c.public_status : c.status));
      tr.appendChild(element('td', '', c.entity || msg('unassigned')));
      body.appendChild(tr);
    });
    table.appendChild(body);
    return table;
  }

  function show(data) {
    if (data.too_short) {
      note(msg('short'));
      return;
    }
    if (!data.callers.length) {
      note(msg('none'));
      return;
    }
    var nodes = data.callers.map(function (caller) {
      var article = element('article', 'caller');
      article.setAttribute('aria-label', caller.name || msg('noname'));
      article.appendChild(element('h3', '', caller.name || msg('noname')));
      var contact = [caller.phone, caller.email].filter(Boolean).join(' · ');
      article.appendChild(element('p', 'caller-contact', contact));
      article.appendChild(casesTable(caller.cases));
      if (Object.keys(caller.fill).length) {
        var use = element('button', 'button secondary', msg('use'));
        use.type = 'button';
        use.addEventListener('click', function () {
          fill(caller.fill);
        });
        article.appendChild(use);
      }
      return article;
    });
    if (data.more) {
      nodes.push(element('p', 'caller-note', msg('more')));
    }
    results.replaceChildren.apply(results, nodes);
  }

  function lookup() {
    var text = input.value.trim();
    var mine = ++asked;
    if (text.length < MIN_CHARS) {
      if (text.length) {
        note(msg('short'));
      } else {
        results.replaceChildren();
      }
      return;
    }
    note(msg('searching'));
    var url = panel.getAttribute('data-url') +
      '?q=' + encodeURIComponent(text) +
      '&tipo=' + encodeURIComponent(panel.getAttribute('data-tipo') || '');
    fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then(function (data) {
        if (mine === asked) {
          show(data);
        }
      })
      .catch(function () {
        if (mine === asked) {
          note(msg('error'));
        }
      });
  }

  input.addEventListener('input', function () {
    window.clearTimeout(timer);
    if (onPhone()) {
      timer = window.setTimeout(lookup, DELAY_MS);
    }
  });
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    window.clearTimeout(timer);
    lookup();
  });
  if (channel) {
    var toggle = function () {
      panel.hidden = !onPhone();
    };
    channel.addEventListener('change', toggle);
    toggle();
  }
}());
