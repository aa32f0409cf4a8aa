/**
 * The only way this page builds DOM: elements by name, attributes by setAttribute and text as
 * text nodes. No HTML string is ever parsed (the page's CSP enforces Trusted Types with no
 * policy, so innerHTML with a string would throw), so data from the API always shows as text.
 */
export type Child = Node | string | number | null | undefined | false;

export interface Props {
  class?: string;
  /** Plain attributes (ids, aria-*, data-*, types, labels); never event handlers or styles. */
  attrs?: Record<string, string | number | boolean | undefined>;
  on?: Partial<{ [E in keyof HTMLElementEventMap]: (event: HTMLElementEventMap[E]) => void }>;
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  for (const [name, value] of Object.entries(props.attrs ?? {})) {
    if (/^on|^style$/i.test(name)) throw new Error(`refusing attribute ${name}`);
    if (value === undefined || value === false) continue;
    el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const [type, listener] of Object.entries(props.on ?? {})) {
    el.addEventListener(type, listener as EventListener);
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/** Replaces every child of `parent`. */
export function replace(parent: Node, ...children: Child[]): void {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, ...children);
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from index.html`);
  return el as T;
}

/** A table with a caption, header cells with scope, and one row per item. */
export function table(
  caption: string,
  head: string[],
  rows: Child[][],
  options: { numeric?: number[]; id?: string } = {},
): HTMLTableElement {
  const numeric = new Set(options.numeric ?? []);
  const cell = (tag: 'th' | 'td', content: Child, i: number, attrs: Props['attrs'] = {}) =>
    h(tag, { class: numeric.has(i) ? 'num' : undefined, attrs }, content);
  return h(
    'table',
    { attrs: { id: options.id } },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, ...head.map((t, i) => cell('th', t, i, { scope: 'col' })))),
    h(
      'tbody',
      {},
      ...rows.map((row) =>
        h(
          'tr',
          {},
          ...row.map((c, i) => (i === 0 ? cell('th', c, i, { scope: 'row' }) : cell('td', c, i))),
        ),
      ),
    ),
  );
}
