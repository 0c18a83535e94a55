/* Centro 311 — forms checked in the browser before they are sent.
 *
 * The server checks every form and answers with messages beside the fields
 * and an error summary above them (templates/_form.html). This file does the
 * same in the browser, so a citizen learns of a missing or mistyped field at
 * once: on submit it checks every field of a form marked data-check, writes
 * the messages beside the fields, builds the same summary and moves the focus
 * to it; on leaving a field it checks that field again. The messages are the
 * server's own, rendered into data- attributes (check_attrs in _form.html),
 * so there is one text in each language. The checks lean on the browser's
 * constraint validation (validity: valueMissing, typeMismatch, badInput,
 * rangeUnderflow…); telephone numbers use libphonenumber-js, the JavaScript
 * port of the library the server uses, loaded only when a form asks for a
 * phone. Without JavaScript (or if anything here fails) the server does it all.
 */
(function () {
  'use strict';

  var SUMMARY_ID = 'resumen-errores';
  var PHONE_REGION = 'PA';
  var phoneLib = null;

  function msg(form, key) {
    return form.getAttribute('data-msg-' + key) || '';
  }

  function controls(field) {
    var name = field.getAttribute('data-field');
    return Array.prototype.filter.call(
      field.querySelectorAll('input, select, textarea'),
      function (el) { return el.name === name && el.type !== 'hidden'; }
    );
  }

  /* The first message that applies to a field, or '' when it is fine. */
  function problem(form, field) {
    var els = controls(field);
    if (!els.length) {
      return '';
    }
    var el = els[0];
    if (el.type === 'radio') {
      var chosen = els.some(function (r) { return r.checked; });
      return !chosen && els.some(function (r) { return r.required; })
        ? msg(form, 'required') : '';
    }
    if (el.type === 'checkbox' || el.type === 'file') {
      return '';
    }
    var value = el.value || '';
    var text = value.trim();
    if (el.validity.badInput) {
      if (el.type === 'number') { return msg(form, 'number'); }
      if (el.type === 'date') { return msg(form, 'date'); }
      if (el.type === 'datetime-local') { return msg(form, 'datetime'); }
      return msg(form, 'format');
    }
    if (text === '') {
      // The server drops blank values before it checks: spaces alone
      // are as good as nothing.
      return el.required || el.validity.valueMissing ? msg(form, 'required') : '';
    }
    var minLength = parseInt(field.getAttribute('data-minlength') || '0', 10);
    if (minLength && Array.from(text).length < minLength) {
      return field.getAttribute('data-msg-minlength') || msg(form, 'required');
    }
    if (el.type === 'email') {
      // email-validator (on the server) also wants a dot in the domain.
      var domain = text.split('@').pop();
      if (el.validity.typeMismatch || domain.indexOf('.') < 1) {
        return msg(form, 'email');
      }
    }
    if (field.hasAttribute('data-phone') && phoneLib) {
      if (text.length > 40 || !phoneLib.isValidPhoneNumber(text, PHONE_REGION)) {
        return msg(form, 'phone');
      }
    }
    if (el.validity.rangeUnderflow) { return msg(form, 'small'); }
    if (el.validity.rangeOverflow) { return msg(form, 'large'); }
    if (el.validity.patternMismatch) { return msg(form, 'format'); }
    var pattern = field.getAttribute('data-pattern');
    if (pattern) {
      var re = null;
      try {
        re = new RegExp(pattern, 'u');
      } catch (e) {
        re = null; // a pattern only the server's RE2 reads: the server checks it
      }
      if (re && !re.test(text)) {
        return msg(form, 'format');
      }
    }
    return '';
  }

  function describedBy(el, id, on) {
    var ids = (el.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean);
    ids = ids.filter(function (x) { return x !== id; });
    if (on) {
      ids.push(id);
    }
    if (ids.length) {
      el.setAttribute('aria-describedby', ids.join(' '));
    } else {
      el.removeAttribute('aria-describedby');
    }
  }

  /* Show (or clear, with '') the message beside a field, like the server. */
  function show(field, message) {
    var name = field.getAttribute('data-field');
    var id = name + '-error';
    var list = document.getElementById(id);
    var els = controls(field);
    var group = field.querySelector('fieldset');
    if (message) {
      if (!list) {
        list = document.createElement('ul');
        list.className = 'field-errors';
        list.id = id;
        if (group) {
          var after = group.querySelector('.help') || group.querySelector('legend');
          after.insertAdjacentElement('afterend', list);
        } else {
          field.appendChild(list);
        }
      }
      list.textContent = '';
      var item = document.createElement('li');
      item.textContent = message;
      list.appendChild(item);
      field.classList.add('has-error');
    } else {
      if (list) {
        list.remove();
      }
      field.classList.remove('has-error');
    }
    els.forEach(function (el) {
      if (message) {
        el.setAttribute('aria-invalid', 'true');
      } else {
        el.removeAttribute('aria-invalid');
      }
    });
    describedBy(group || els[0], id, Boolean(message));
  }

  function target(field) {
    var els = controls(field);
    return els.length ? els[0].id : field.getAttribute('data-field');
  }

  /* The summary above the form: the server's markup, built again. */
  function summarize(form, found) {
    var old = document.getElementById(SUMMARY_ID);
    if (old) {
      old.remove();
    }
    if (!found.length) {
      return null;
    }
    var box = document.createElement('div');
    box.className = 'error-summary';
    box.id = SUMMARY_ID;
    box.setAttribute('role', 'alert');
    box.setAttribute('tabindex', '-1');
    box.setAttribute('aria-labelledby', SUMMARY_ID + '-titulo');
    var title = document.createElement('h2');
    title.id = SUMMARY_ID + '-titulo';
    title.textContent = form.getAttribute('data-summary-title') || '';
    var lead = document.createElement('p');
    lead.textContent = form.getAttribute('data-summary-lead') || '';
    var list = document.createElement('ul');
    found.forEach(function (pair) {
      var item = document.createElement('li');
      var link = document.createElement('a');
      link.href = '#' + target(pair[0]);
      link.textContent = pair[0].getAttribute('data-label') + ': ' + pair[1];
      item.appendChild(link);
      list.appendChild(item);
    });
    box.append(title, lead, list);
    form.insertAdjacentElement('beforebegin', box);
    return box;
  }

  /* After one field changed: drop its lines from a summary on the page. */
  function forget(field) {
    var box = document.getElementById(SUMMARY_ID);
    if (!box) {
      return;
    }
    var name = field.getAttribute('data-field');
    box.querySelectorAll('li a').forEach(function (link) {
      var href = link.getAttribute('href');
      if (href === '#' + name || href === '#' + name + '-0') {
        link.parentElement.remove();
      }
    });
    if (!box.querySelector('li')) {
      box.remove();
    }
  }

  function fields(form) {
    return Array.prototype.slice.call(form.querySelectorAll('.field[data-field]'));
  }

  function checkAll(event) {
    var form = event.currentTarget;
    var found = [];
    fields(form).forEach(function (field) {
      var message = problem(form, field);
      show(field, message);
      if (message) {
        found.push([field, message]);
      }
    });
    if (!found.length) {
      return; // the server has the last word
    }
    event.preventDefault();
    var box = summarize(form, found);
    box.focus();
  }

  function checkOne(form, field) {
    var message = problem(form, field);
    show(field, message);
    if (!message) {
      forget(field);
    }
  }

  function loadPhoneLib(src) {
    if (!src || phoneLib || document.querySelector('script[data-phone-lib]')) {
      return;
    }
    var script = document.createElement('script');
    script.src = src;
    script.async = true;
    script.setAttribute('data-phone-lib', '');
    script.addEventListener('load', function () {
      phoneLib = window.libphonenumber || null;
    });
    document.head.appendChild(script);
  }

  function setup(form) {
    var touched = new Set();
    if (form.querySelector('.field[data-phone]')) {
      loadPhoneLib(form.getAttribute('data-phone-lib'));
    }
    form.addEventListener('submit', checkAll);
    form.addEventListener('input', function (event) {
      var field = event.target.closest('.field[data-field]');
      if (field) {
        touched.add(field);
      }
    });
    form.addEventListener('change', function (event) {
      var field = event.target.closest('.field[data-field]');
      if (field && event.target.type === 'radio') {
        checkOne(form, field); // a choice made is a field left
      }
    });
    // Pressing the send button leaves a field too: a message written then
    // would move the button from under the pointer and lose the click. The
    // submit checks everything anyway.
    var sending = false;
    form.addEventListener('pointerdown', function (event) {
      sending = Boolean(event.target.closest('[type="submit"]'));
    });
    document.addEventListener('pointerup', function () {
      setTimeout(function () { sending = false; }, 0);
    });
    // Leaving a field checks it once it was typed in or shows an error:
    // tabbing through a form does not cover it in "required".
    form.addEventListener('focusout', function (event) {
      var field = event.target.closest('.field[data-field]');
      var next = event.relatedTarget;
      if (!field || sending || (next && next.type === 'submit' && form.contains(next))) {
        return;
      }
      if (touched.has(field) || field.classList.contains('has-error')) {
        if (!field.contains(next)) {
          checkOne(form, field);
        }
      }
    });
  }

  document.querySelectorAll('form[data-check]').forEach(setup);
}());
