// How a label edit applies to a host's labels: one pure function that every store engine applies inside its transaction.
import type { LabelChange } from './store.js';

/** The labels after setting `change.set` and then removing `change.remove` (a key in both ends up removed). */
export function applyLabelChange(labels: Readonly<Record<string, string>>, change: LabelChange): Record<string, string> {
  const next = { ...labels, ...change.set };
  for (const k of change.remove) delete next[k];
  return next;
}
