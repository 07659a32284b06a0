// Thin promise wrappers over fs's callback API with raw descriptors: far cheaper per call than FileHandle
// when a release has thousands of small files.
import { close, fchmod, fsync, open, writev } from 'node:fs';

export function openFd(path: string, flags: number, mode?: number): Promise<number> {
  return new Promise((resolve, reject) => open(path, flags, mode, (err, fd) => (err ? reject(err) : resolve(fd))));
}

export function closeFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => close(fd, (err) => (err ? reject(err) : resolve())));
}

export function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
}

export function fchmodFd(fd: number, mode: number): Promise<void> {
  return new Promise((resolve, reject) => fchmod(fd, mode, (err) => (err ? reject(err) : resolve())));
}

/** Write all of `chunks` (retrying short writes). */
export async function writevAll(fd: number, chunks: Buffer[]): Promise<void> {
  let pending = chunks.filter((c) => c.byteLength > 0);
  while (pending.length > 0) {
    const written = await new Promise<number>((resolve, reject) => writev(fd, pending, (err, n) => (err ? reject(err) : resolve(n))));
    let left = written;
    const rest: Buffer[] = [];
    for (const c of pending) {
      if (left >= c.byteLength) left -= c.byteLength;
      else {
        rest.push(left > 0 ? c.subarray(left) : c);
        left = 0;
      }
    }
    pending = rest;
  }
}
