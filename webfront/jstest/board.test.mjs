// Tests of the staff page's logic (webfront/static/board.js): the board as
// shown from a board response (PROTOCOL §12), the pacing of its refreshes,
// and the fields' values as they are sent.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Recent, Refresher, boardView, campIdOf, minutesOf } from '../static/board.js';

test('the board: groups in order, the host and the muted marked, mutes of campers away apart', () => {
  const v = boardView({
    groups: [
      { group: 1, members: ['J071', 'J072'], session: { host: 'J071', maxCount: 3, messages: 1 } },
      { group: 2, members: ['J075'], session: null },
    ],
    checkedIn: 3,
    muted: [
      { campId: 'J072', until: '2026-12-08T12:40:00Z', by: '김코치' },
      { campId: 'J099', until: '2026-12-08T13:00:00Z', by: 'Mina' },
    ],
  });
  assert.equal(v.checkedIn, 3);
  assert.equal(v.mutedCount, 2);
  assert.deepEqual(v.groups.map((g) => g.group), [1, 2]);
  assert.deepEqual(v.groups[0].session, { host: 'J071', maxCount: 3, messages: 1 });
  assert.equal(v.groups[1].session, null);
  assert.deepEqual(v.groups[0].members, [
    { campId: 'J071', host: true, mutedUntil: '', mutedBy: '' },
    { campId: 'J072', host: false, mutedUntil: '2026-12-08T12:40:00Z', mutedBy: '김코치' },
  ]);
  assert.deepEqual(v.mutedAway, [{ campId: 'J099', until: '2026-12-08T13:00:00Z', by: 'Mina' }]);
});

test('an empty or odd board reads as nobody checked in', () => {
  for (const body of [{}, null, { groups: null, muted: null }, { groups: [{}] }]) {
    const v = boardView(body);
    assert.equal(v.checkedIn, 0);
    assert.equal(v.mutedCount, 0);
    assert.deepEqual(v.mutedAway, []);
    for (const g of v.groups) assert.deepEqual(g.members, []);
  }
});

/** A clock and timers the test moves by hand. */
function fakeTime() {
  let now = 1000;
  const timers = new Map();
  let next = 1;
  return {
    now: () => now,
    setTimer: (f, ms) => {
      timers.set(next, { f, at: now + ms });
      return next++;
    },
    clearTimer: (id) => timers.delete(id),
    pending: () => timers.size,
    advance(ms) {
      now += ms;
      for (const [id, tm] of [...timers]) {
        if (tm.at <= now) {
          timers.delete(id);
          tm.f();
        }
      }
    },
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

test('refreshes: the first poke at once, then at most one per gap, however many pokes', async () => {
  const time = fakeTime();
  let runs = 0;
  const r = new Refresher(() => { runs++; }, { gapMs: 500, ...time });
  r.poke();
  assert.equal(runs, 1);
  await settle();
  for (let i = 0; i < 20; i++) r.poke();
  assert.equal(runs, 1, 'within the gap: waiting');
  assert.equal(time.pending(), 1, 'one refresh waits, not twenty');
  time.advance(499);
  assert.equal(runs, 1);
  time.advance(1);
  assert.equal(runs, 2);
  await settle();
  time.advance(10_000);
  assert.equal(runs, 2, 'no poke, no refresh');
  r.poke();
  assert.equal(runs, 3, 'long after the last one: at once');
});

test('refreshes: one at a time; a poke while one runs gives one more after it', async () => {
  const time = fakeTime();
  let runs = 0;
  let finish;
  const r = new Refresher(() => {
    runs++;
    return new Promise((resolve) => { finish = resolve; });
  }, { gapMs: 500, ...time });
  r.poke();
  time.advance(2000);
  r.poke();
  r.poke();
  assert.equal(runs, 1, 'still running');
  finish();
  await settle();
  assert.equal(runs, 2, 'the pokes made while it ran: one more, the gap being over');
  finish();
  await settle();
  assert.equal(runs, 2);
});

test('refreshes: a failed one does not stop the next; cancel forgets the waiting one', async () => {
  const time = fakeTime();
  let runs = 0;
  const r = new Refresher(() => {
    runs++;
    throw new Error('socket closed');
  }, { gapMs: 500, ...time });
  r.poke();
  await settle();
  r.poke();
  r.cancel();
  time.advance(1000);
  assert.equal(runs, 1, 'cancelled');
  r.poke();
  assert.equal(runs, 2);
});

test('the fields as sent: campIds in capitals, minutes as a number when whole', () => {
  assert.equal(campIdOf('  j004 '), 'J004');
  assert.equal(campIdOf(undefined), '');
  assert.equal(minutesOf(' 10 '), 10);
  assert.equal(minutesOf('0'), 0);
  assert.equal(minutesOf('-1'), -1, 'the server says it is out of range');
  assert.equal(minutesOf('1.5'), '1.5', 'the server says it is not whole');
  assert.equal(minutesOf('ten'), 'ten');
});

test('recent messages: the last few of each group, oldest first, a redaction marks its message', () => {
  const r = new Recent(2);
  assert.equal(r.take('message', { group: 1, offset: 3, from: 'J001', text: 'a' }), true);
  assert.equal(r.take('join', { group: 1, offset: 4, campId: 'J002' }), false);
  assert.equal(r.take('announcement', { group: 1, offset: 5, from: '김코치', text: 'b' }), true);
  assert.equal(r.take('message', { group: 1, offset: 5, from: '김코치', text: 'b' }), false, 'once per offset');
  assert.equal(r.take('message', { group: 1, offset: 6, from: 'J001', text: 'c' }), true);
  assert.equal(r.take('message', { group: 2, offset: 2, from: 'J005', text: 'd' }), true);
  assert.deepEqual(r.of(1).map((m) => [m.offset, m.text, m.announcement]), [[5, 'b', true], [6, 'c', false]]);
  assert.deepEqual(r.of(3), []);
  assert.equal(r.take('redacted', { group: 1, offset: 6, by: '김코치' }), true);
  assert.equal(r.take('redacted', { group: 1, offset: 6, by: '김코치' }), false, 'already');
  assert.equal(r.take('redacted', { group: 1, offset: 3, by: '김코치' }), false, 'no longer kept');
  assert.deepEqual(r.find(1, 6), { offset: 6, from: 'J001', text: '', announcement: false, redactedBy: '김코치' });
  assert.equal(r.take('message', { group: 0, offset: 1, text: 'x' }), false);
});
