/* Centro 311 — `domify` without inline style attributes.
 *
 * The app's Content-Security-Policy forbids inline styles (style-src 'self').
 * The properties panel builds its containers from markup carrying a `style`
 * attribute, which the browser then refuses with a console error. esbuild
 * aliases every `domify` import to this module (see the Makefile), which
 * drops such attributes; modeler.css gives the containers those styles.
 */
import domify from '../../../../node_modules/domify/index.js';

var STYLE_ATTRIBUTE = /\sstyle="[^"]*"/g;

export default function domifyWithoutStyles(html, document) {
  if (typeof html === 'string') {
    html = html.replace(STYLE_ATTRIBUTE, '');
  }
  return domify(html, document);
}
