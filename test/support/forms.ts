/**
 * HTML forms read the way a browser submits them, for pages whose forms we do not write
 * ourselves (oidc-provider's device and logout forms, with their own xsrf fields).
 *
 * A form's fields are the named controls inside it plus those elsewhere on the page that
 * name it in a `form` attribute, in page order; duplicates are kept, since a browser sends
 * them all. A submit button counts only when it is the one pressed. Regular expressions
 * suffice for the server-rendered pages under test; this is not a general HTML parser.
 */
export interface FormControl {
  tag: 'input' | 'button' | 'textarea' | 'select';
  type: string;
  name: string;
  value: string;
  checked: boolean;
}

export interface HtmlForm {
  id?: string;
  action: string;
  method: string;
  /** Controls a browser would send, buttons excepted. */
  fields: FormControl[];
  /** Buttons that submit this form. */
  buttons: FormControl[];
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (whole, name: string) => {
    if (name.startsWith('#x') || name.startsWith('#X')) return String.fromCodePoint(parseInt(name.slice(2), 16));
    if (name.startsWith('#')) return String.fromCodePoint(Number(name.slice(1)));
    return ENTITIES[name.toLowerCase()] ?? whole;
  });
}

function attributesOf(tag: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  const re = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  const inner = tag.replace(/^<\w+/, '').replace(/\/?>$/, '');
  for (const m of inner.matchAll(re)) attrs[m[1]!.toLowerCase()] = decode(m[2] ?? m[3] ?? m[4] ?? '');
  return attrs;
}

interface Located { start: number; end: number; attrs: Record<string, string> }

function formsIn(html: string): Located[] {
  return [...html.matchAll(/<form\b[^>]*>/gi)].map((m) => {
    const close = html.indexOf('</form>', m.index);
    return { start: m.index, end: close === -1 ? html.length : close, attrs: attributesOf(m[0]) };
  });
}

function controlsIn(html: string): Array<FormControl & { at: number; form?: string; disabled: boolean }> {
  const re = /<(input|button|textarea|select)\b[^>]*>/gi;
  return [...html.matchAll(re)].map((m) => {
    const tag = m[1]!.toLowerCase() as FormControl['tag'];
    const attrs = attributesOf(m[0]);
    const type = (attrs.type ?? (tag === 'button' ? 'submit' : tag === 'input' ? 'text' : tag)).toLowerCase();
    return {
      tag, type, at: m.index, form: attrs.form, disabled: 'disabled' in attrs,
      name: attrs.name ?? '', value: attrs.value ?? '', checked: 'checked' in attrs,
    };
  });
}

/** Every form on the page, with the controls that belong to it. */
export function parseForms(html: string): HtmlForm[] {
  const forms = formsIn(html);
  const controls = controlsIn(html);
  return forms.map((form) => {
    const owned = controls.filter((c) => !c.disabled && (c.form !== undefined
      ? c.form === form.attrs.id
      : c.at > form.start && c.at < form.end));
    const strip = ({ tag, type, name, value, checked }: FormControl): FormControl => ({ tag, type, name, value, checked });
    const isButton = (c: FormControl) => c.tag === 'button' || ['submit', 'image'].includes(c.type);
    return {
      id: form.attrs.id,
      action: form.attrs.action ?? '',
      method: (form.attrs.method ?? 'get').toLowerCase(),
      fields: owned.filter((c) => c.name && !isButton(c) && c.type !== 'reset' && c.type !== 'button').map(strip),
      buttons: owned.filter((c) => isButton(c) && c.type === 'submit').map(strip),
    };
  });
}

/** The form with this id, or the only form whose action matches. */
export function formOn(html: string, which: { id?: string; action?: RegExp }): HtmlForm {
  const found = parseForms(html).filter((f) => (which.id === undefined || f.id === which.id)
    && (which.action === undefined || which.action.test(f.action)));
  if (found.length !== 1) throw new Error(`expected one form ${JSON.stringify({ id: which.id, action: which.action?.source })}, found ${found.length} in:\n${html.slice(0, 800)}`);
  return found[0]!;
}

/**
 * The body a browser sends: each field with its value, except those the person typed into
 * (`typed`, by name: the first field of that name is filled), then the pressed button.
 */
export function submission(form: HtmlForm, opts: { typed?: Record<string, string>; press?: { name: string; value: string } } = {}): string {
  const body = new URLSearchParams();
  const pending = new Map(Object.entries(opts.typed ?? {}));
  for (const field of form.fields) {
    if ((field.type === 'checkbox' || field.type === 'radio') && !field.checked) continue;
    if (pending.has(field.name)) {
      body.append(field.name, pending.get(field.name)!);
      pending.delete(field.name);
    } else {
      body.append(field.name, field.value);
    }
  }
  if (pending.size) throw new Error(`no field named ${[...pending.keys()].join(', ')} in form ${form.id ?? form.action}`);
  if (opts.press) {
    const button = form.buttons.find((b) => b.name === opts.press!.name && b.value === opts.press!.value);
    if (!button) throw new Error(`no button ${opts.press.name}=${opts.press.value} submits form ${form.id ?? form.action}`);
    body.append(button.name, button.value);
  }
  return body.toString();
}
