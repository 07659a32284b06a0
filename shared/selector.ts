// Label selectors ("site=lab,tier=edge", "tier!=canary"): parsed strictly, matched purely. Used by host list,
// rollouts and fleet rollback alike, so "which hosts" means the same everywhere.

export interface SelectorTerm {
  key: string;
  op: '=' | '!=';
  value: string;
}

export const LABEL_KEY = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$/;
export const LABEL_VALUE = /^[A-Za-z0-9._-]{0,63}$/;

/** Terms of a selector, all of which must hold; a string explaining the fault when it is not one. */
export function parseSelector(text: string): SelectorTerm[] | string {
  if (text.length > 1024) return 'a selector is at most 1024 characters';
  const terms: SelectorTerm[] = [];
  for (const part of text.split(',').map((p) => p.trim())) {
    const m = /^([^=!]+)(!=|==|=)(.*)$/.exec(part);
    if (!m) return `"${part}" is not KEY=VALUE or KEY!=VALUE`;
    const key = m[1]!.trim();
    const value = m[3]!.trim();
    if (!LABEL_KEY.test(key)) return `"${key}" is not a label key (letters, digits and . _ / -, up to 63)`;
    if (!LABEL_VALUE.test(value)) return `"${value}" is not a label value (letters, digits and . _ -, up to 63)`;
    terms.push({ key, op: m[2] === '!=' ? '!=' : '=', value });
  }
  return terms;
}

/** Whether labels satisfy every term (a missing key equals no value: it fails `=` and passes `!=`). */
export function matchesSelector(labels: Readonly<Record<string, string>>, terms: readonly SelectorTerm[]): boolean {
  return terms.every((t) => (t.op === '=' ? labels[t.key] === t.value : labels[t.key] !== t.value));
}
