/* Centro 311 — the modeler's calls to the server (JSON, CSRF header). */

var settings = {};

export function configure(value) {
  settings = value;
}

export function label(key) {
  return (settings.labels || {})[key] || key;
}

export function postJSON(url, body) {
  return fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: {
      'Content-Type': 'application/json',
      'X-CSRFToken': settings.csrf || ''
    },
    body: JSON.stringify(body)
  }).then(function (response) {
    if (response.status !== 200 && response.status !== 422) {
      throw new Error('HTTP ' + response.status);
    }
    return response.json();
  });
}

/* Problems a deploy would find in `source` (resolves to {ok, problems}). */
export function checkCode(kind, source, timer) {
  return postJSON(settings.checkUrl, { kind: kind, source: source, timer: timer });
}

export function previewInstructions(text) {
  return postJSON(settings.previewUrl, { text: text });
}

export function get(key) {
  return settings[key];
}
