// The SSE framing and the resume point of the rollout event streams, as pure functions.
import assert from 'node:assert/strict';
import { formatSseEvent, resumeSeq } from '../../../controller/routes/event-stream.js';
import { parseSseFrames } from '../../helpers/sse.js';

describe('rollout event stream framing', () => {
  it('frames an event as id + one data line that a newline in a message cannot break', () => {
    const text = formatSseEvent('7', { seq: 7, message: 'line one\n\ndata: forged\r\nid: 99' });
    assert.equal(text.split('\n\n').length, 2, 'exactly one frame');
    const { frames, rest } = parseSseFrames(text);
    assert.equal(rest, '');
    assert.equal(frames.length, 1);
    assert.equal(frames[0]!.id, '7');
    assert.deepEqual(JSON.parse(frames[0]!.data!), { seq: 7, message: 'line one\n\ndata: forged\r\nid: 99' });
    assert.equal(formatSseEvent('a\nb', {}).startsWith('id: ab\n'), true);
  });

  it('resumes after Last-Event-ID (seq or ROLLOUT:SEQ), else ?after, else from the start; refuses junk', () => {
    assert.equal(resumeSeq(undefined, undefined), 0);
    assert.equal(resumeSeq(undefined, 4), 4);
    assert.equal(resumeSeq('12', 4), 12);
    assert.equal(resumeSeq('r3:12', undefined), 12);
    assert.equal(resumeSeq('', 2), 2);
    for (const bad of ['x', '-1', '1.5', '1:2:3', '9'.repeat(16)]) assert.equal(resumeSeq(bad, undefined), undefined, bad);
  });
});
