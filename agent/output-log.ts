// A bounded log of a service's recent output lines: at most maxLines lines of at most maxLineBytes bytes each.
import { StringDecoder } from 'node:string_decoder';

export type OutputStream = 'stdout' | 'stderr';

export interface OutputLine {
  readonly at: string;
  readonly stream: OutputStream;
  readonly line: string;
  /** The line was longer than the cap and was cut. */
  readonly truncated: boolean;
}

export interface OutputLimits {
  readonly maxLines: number;
  readonly maxLineBytes: number;
}

export const DEFAULT_OUTPUT_LIMITS: OutputLimits = Object.freeze({ maxLines: 200, maxLineBytes: 2048 });

/** Splits one stream's chunks into lines; a partial line never holds more than maxLineBytes. */
class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  /** A long line was emitted cut; the rest of it is dropped until its newline. */
  private skipping = false;

  constructor(private readonly maxLineBytes: number, private readonly emit: (line: string, truncated: boolean) => void) {}

  write(chunk: Buffer): void {
    let text = this.decoder.write(chunk);
    while (text.length > 0) {
      const nl = text.indexOf('\n');
      const piece = nl === -1 ? text : text.slice(0, nl);
      text = nl === -1 ? '' : text.slice(nl + 1);
      if (!this.skipping) {
        this.partial += piece;
        if (Buffer.byteLength(this.partial) > this.maxLineBytes) {
          this.emit(cutToBytes(this.partial, this.maxLineBytes), true);
          this.partial = '';
          this.skipping = true;
        }
      }
      if (nl !== -1) {
        if (!this.skipping) this.emit(this.partial.replace(/\r$/, ''), false);
        this.partial = '';
        this.skipping = false;
      }
    }
  }

  end(): void {
    const rest = this.partial + this.decoder.end();
    if (rest.length > 0 && !this.skipping) {
      const truncated = Buffer.byteLength(rest) > this.maxLineBytes;
      this.emit(truncated ? cutToBytes(rest, this.maxLineBytes) : rest, truncated);
    }
    this.partial = '';
    this.skipping = false;
  }
}

/** The longest prefix of s within maxBytes of UTF-8, never splitting a character. */
export function cutToBytes(s: string, maxBytes: number): string {
  const buf = Buffer.from(s);
  if (buf.length <= maxBytes) return s;
  let end = maxBytes;
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end -= 1; // back off a continuation byte
  return buf.subarray(0, end).toString('utf8');
}

/** The ring of recent lines of one service (both streams, in arrival order). */
export class OutputLog {
  private readonly ring: (OutputLine | undefined)[];
  private next = 0;
  private count = 0;
  private readonly splitters: Record<OutputStream, LineSplitter>;

  constructor(private readonly limits: OutputLimits = DEFAULT_OUTPUT_LIMITS, private readonly now: () => number = Date.now) {
    this.ring = new Array<OutputLine | undefined>(limits.maxLines);
    this.splitters = {
      stdout: new LineSplitter(limits.maxLineBytes, (line, truncated) => this.push('stdout', line, truncated)),
      stderr: new LineSplitter(limits.maxLineBytes, (line, truncated) => this.push('stderr', line, truncated)),
    };
  }

  write(stream: OutputStream, chunk: Buffer): void {
    this.splitters[stream].write(chunk);
  }

  /** Flush partial lines (the process ended). */
  end(stream: OutputStream): void {
    this.splitters[stream].end();
  }

  /** A line written by the agent itself (spawn errors), so the status shows why a service is down. */
  note(line: string): void {
    this.push('stderr', `[swarm-agent] ${cutToBytes(line, this.limits.maxLineBytes - 14)}`, false);
  }

  private push(stream: OutputStream, line: string, truncated: boolean): void {
    if (this.limits.maxLines === 0) return;
    this.ring[this.next] = { at: new Date(this.now()).toISOString(), stream, line, truncated };
    this.next = (this.next + 1) % this.limits.maxLines;
    this.count = Math.min(this.count + 1, this.limits.maxLines);
  }

  /** Oldest first; at most `limit` newest lines. */
  lines(limit = this.limits.maxLines): OutputLine[] {
    const n = Math.min(limit, this.count);
    const out: OutputLine[] = [];
    for (let i = this.count - n; i < this.count; i += 1) {
      const idx = (this.next - this.count + i + this.limits.maxLines) % this.limits.maxLines;
      const entry = this.ring[idx];
      if (entry) out.push(entry);
    }
    return out;
  }
}
