// Small pieces the views share: state badges, progress bars, copyable commands, empty and error states.
import { useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import type { Wave } from './types.js';

const TONE: Readonly<Record<string, string>> = {
  online: 'good', ok: 'good', done: 'good', succeeded: 'good', 'rolled-back-ok': 'good',
  canary: 'busy', rolling: 'busy', pushing: 'busy', pending: 'idle', skipped: 'idle',
  paused: 'warn', degraded: 'warn', 'not enrolled': 'idle', offline: 'bad',
  aborted: 'bad', failed: 'bad', failing: 'bad', 'rolled-back': 'bad', unreachable: 'bad',
};

export function Badge(props: { value: string; label?: string }) {
  return <span class={`badge tone-${TONE[props.value] ?? 'idle'}`} data-state={props.value}>{props.label ?? props.value}</span>;
}

/** A wave's hosts as one bar: done, failed or rolled back, in flight, pending (widths in %, set through CSSOM). */
export function WaveBar(props: { wave: Wave }) {
  const w = props.wave;
  const total = Math.max(1, w.hosts);
  const seg = (n: number, cls: string, title: string) => n > 0 ? <span class={`seg ${cls}`} style={{ width: `${(100 * n) / total}%` }} title={`${n} ${title}`} /> : null;
  return (
    <div class="bar" role="progressbar" aria-valuemin={0} aria-valuemax={w.hosts} aria-valuenow={w.done} aria-label={`${w.done} of ${w.hosts} done`}>
      {seg(w.done, 'seg-done', 'done')}
      {seg(w.failed + w.rolledBack, 'seg-bad', 'failed or rolled back')}
      {seg(w.inFlight, 'seg-busy', 'in flight')}
    </div>
  );
}

/** A swarmctl command to copy: the page never acts itself. */
export function CopyCommand(props: { command: string; what: string }) {
  const [copied, setCopied] = useState<'no' | 'yes' | 'failed'>('no');
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(props.command);
      setCopied('yes');
    } catch {
      setCopied('failed');
    }
    setTimeout(() => setCopied('no'), 2000);
  };
  return (
    <div class="command">
      <span class="command-what">{props.what}</span>
      <code data-testid="command">{props.command}</code>
      <button type="button" onClick={() => void copy()} aria-label={`copy: ${props.command}`}>{copied === 'yes' ? 'Copied' : copied === 'failed' ? 'Select and copy' : 'Copy'}</button>
    </div>
  );
}

export function Notice(props: { kind: 'empty' | 'error' | 'loading'; title: string; children?: ComponentChildren }) {
  return (
    <div class={`notice notice-${props.kind}`} role={props.kind === 'error' ? 'alert' : 'status'}>
      <strong>{props.title}</strong>
      {props.children ? <div>{props.children}</div> : null}
    </div>
  );
}
