/**
 * A tiny element builder. Text goes in with `textContent` only: data from the
 * capture is never parsed as HTML.
 */
export type Child = Node | string | undefined | null | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { class?: string; title?: string; id?: string; attrs?: Record<string, string>; on?: Partial<Record<keyof HTMLElementEventMap, (e: Event) => void>> } = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  if (props.title) el.title = props.title;
  if (props.id) el.id = props.id;
  if (props.attrs) for (const [k, v] of Object.entries(props.attrs)) el.setAttribute(k, v);
  if (props.on) for (const [k, fn] of Object.entries(props.on)) el.addEventListener(k, fn as EventListener);
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return el;
}

export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

export function button(label: string, title: string, onClick: () => void, cls = ''): HTMLButtonElement {
  const b = h('button', { class: cls, title, attrs: { type: 'button' } }, label);
  b.addEventListener('click', onClick);
  return b;
}

export function select<T extends string>(options: [T, string][], value: T, onChange: (v: T) => void, title = ''): HTMLSelectElement {
  const s = h('select', { title });
  setOptions(s, options);
  s.value = value;
  s.addEventListener('change', () => onChange(s.value as T));
  return s;
}

export function setOptions(s: HTMLSelectElement, options: [string, string][]): void {
  const keep = s.value;
  s.replaceChildren(...options.map(([v, label]) => {
    const o = document.createElement('option');
    o.value = v;
    o.textContent = label;
    return o;
  }));
  if (options.some(([v]) => v === keep)) s.value = keep;
}
