/* Centro 311 — the panel's debounced inputs, flushed before they go stale.
 *
 * The properties panel waits 300 ms after typing before it writes to the
 * diagram. A designer who types and at once picks another element or saves
 * would lose that edit, or (worse) see the panel jump back to the element
 * the late edit lands on. This replaces the panel's `debounceInput` service
 * with one whose pending writes run first when the selection changes, and
 * on `flushAll()` (called before saving).
 */
var DELAY = 300;

export default function DebounceInput(eventBus) {
  var pending = [];

  function debounceInput(fn) {
    var timer = null;
    var args = null;

    function run() {
      clearTimeout(timer);
      timer = null;
      pending = pending.filter(function (d) { return d !== debounced; });
      fn.apply(null, args);
    }

    function debounced() {
      args = arguments;
      clearTimeout(timer);
      if (pending.indexOf(debounced) < 0) {
        pending.push(debounced);
      }
      timer = setTimeout(run, DELAY);
    }

    debounced.flush = function () {
      if (timer) {
        run();
      }
    };
    debounced.cancel = function () {
      clearTimeout(timer);
      timer = null;
      pending = pending.filter(function (d) { return d !== debounced; });
    };
    return debounced;
  }

  debounceInput.flushAll = function () {
    pending.slice().forEach(function (d) { d.flush(); });
  };

  // Before the panel (priority 1000) follows the new selection.
  eventBus.on('selection.changed', 5000, debounceInput.flushAll);
  return debounceInput;
}

DebounceInput.$inject = ['eventBus'];
