// Tests of the page's connection logic (webfront/static/connection.js), run
// with `node --test` by cmd/campbus/page_test.go. A fake WebSocket stands in
// for the browser's, so that the sockets opened can be told and closed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Connection, electing, retryAfterMs, socketURLOf } from '../static/connection.js';

class FakeSocket extends EventTarget {
  static OPEN = 1;
  static opened = [];
  readyState = 0;
  sent = [];
  constructor(url) {
    super();
    this.url = url;
    FakeSocket.opened.push(this);
  }
  open() {
    this.readyState = FakeSocket.OPEN;
    this.dispatchEvent(new Event('open'));
  }
  send(data) {
    this.sent.push(JSON.parse(data));
  }
  answer(status, body) {
    const { id } = this.sent.at(-1);
    const e = new Event('message');
    e.data = JSON.stringify({ id, status, body });
    this.dispatchEvent(e);
  }
  close(code = 1006, reason = '') {
    this.readyState = 3;
    const e = new Event('close');
    e.code = code;
    e.reason = reason;
    this.dispatchEvent(e);
  }
}
globalThis.WebSocket = FakeSocket;

function last() {
  return FakeSocket.opened.at(-1);
}

test('socketURLOf makes the socket address of a node from its base URL', () => {
  assert.equal(socketURLOf('http://10.0.0.2:8080'), 'ws://10.0.0.2:8080/ws');
  assert.equal(socketURLOf('https://camp.example/'), 'wss://camp.example/ws');
  assert.equal(socketURLOf('https://camp.example:8443/some/path'), 'wss://camp.example:8443/ws');
  assert.equal(socketURLOf('not a url'), '');
  assert.equal(socketURLOf('ftp://camp.example'), '');
});

test('a dropped socket is opened again at the next node, given then learned, round and round', () => {
  FakeSocket.opened = [];
  const conn = new Connection('ws://a/ws');
  conn.start();
  last().open();
  conn.learn(['ws://a/ws', 'ws://b/ws', 'ws://c/ws', '']);
  assert.deepEqual(conn.urls, ['ws://a/ws', 'ws://b/ws', 'ws://c/ws']);
  assert.equal(conn.url, 'ws://a/ws', 'the current node stays current');

  const seen = [];
  for (let i = 0; i < 4; i++) {
    last().close();
    conn.retryNow();
    seen.push(last().url);
  }
  assert.deepEqual(seen, ['ws://b/ws', 'ws://c/ws', 'ws://a/ws', 'ws://b/ws']);

  conn.learn([]);
  assert.deepEqual(conn.urls, ['ws://a/ws', 'ws://b/ws', 'ws://c/ws'], 'a node alone sends no nodes: nothing is forgotten');
  conn.learn(['ws://d/ws']);
  assert.deepEqual(conn.urls, ['ws://a/ws', 'ws://d/ws', 'ws://b/ws'], 'the current node is kept though no longer listed');
  assert.equal(conn.url, 'ws://b/ws');
  conn.stop();
});

test('drop with stay opens the next socket at the same node', () => {
  FakeSocket.opened = [];
  const conn = new Connection('ws://a/ws');
  conn.learn(['ws://b/ws']);
  conn.start();
  last().open();
  last().close(); // lost: the next is b
  conn.retryNow();
  assert.equal(last().url, 'ws://b/ws');
  last().open();
  conn.drop(1000, 'checkin again later', { stay: true }); // b is up but holds the campId
  conn.retryNow();
  assert.equal(last().url, 'ws://b/ws');
  conn.stop();
});

test('the open and close events say which node', () => {
  FakeSocket.opened = [];
  const conn = new Connection(['ws://a/ws', 'ws://b/ws']);
  const said = [];
  conn.addEventListener('open', (e) => said.push(['open', e.detail.url]));
  conn.addEventListener('close', (e) => said.push(['close', e.detail.url]));
  conn.start();
  last().open();
  last().close();
  conn.retryNow();
  last().open();
  conn.stop();
  assert.deepEqual(said, [['open', 'ws://a/ws'], ['close', 'ws://a/ws'], ['open', 'ws://b/ws']]);
});

test('electing and retryAfterMs read a 503 unavailable', () => {
  assert.equal(electing({ status: 503, body: { code: 'unavailable', retryAfter: 2 } }), true);
  assert.equal(electing({ status: 503, body: { code: 'shutting-down' } }), false);
  assert.equal(electing({ status: 200, body: {} }), false);
  assert.equal(retryAfterMs({ status: 503, body: { retryAfter: 2 } }), 2000);
  assert.equal(retryAfterMs({ status: 503, body: {} }), 1000, 'at least a second');
});

test('ask sends the request again while the camp elects, then gives up after its budget', async () => {
  FakeSocket.opened = [];
  const conn = new Connection('ws://a/ws');
  conn.start();
  const socket = last();
  socket.open();
  const retries = [];
  const sleep = async (ms) => {
    retries.push(ms);
    await Promise.resolve();
  };
  let answered = conn.ask('mission', { day: 4 }, { onRetry: (r) => retries.push(r), sleep });
  socket.answer(503, { code: 'unavailable', retryAfter: 1 });
  await new Promise((r) => setImmediate(r));
  socket.answer(200, { day: 4, keywords: 'Heap, Stack' });
  assert.deepEqual(await answered, { status: 200, body: { day: 4, keywords: 'Heap, Stack' } });
  assert.deepEqual(retries, [{ command: 'mission', attempt: 1, delayMs: 1000 }, 1000]);
  assert.equal(socket.sent.length, 2, 'the same request, sent twice');
  assert.deepEqual(socket.sent[0].body, socket.sent[1].body);

  answered = conn.ask('mission', { day: 4 }, { budgetMs: 30_000, sleep });
  socket.answer(503, { code: 'unavailable', retryAfter: 31 });
  assert.equal((await answered).status, 503, 'a wait over the budget gives the 503 back');
  conn.stop();
});

test('a message answered 503 is not sent again: it may have been stored', async () => {
  FakeSocket.opened = [];
  const conn = new Connection('ws://a/ws');
  conn.start();
  const socket = last();
  socket.open();
  const retries = [];
  const answered = conn.ask('message', { text: 'hi' }, { onRetry: (r) => retries.push(r), sleep: async () => {} });
  socket.answer(503, { code: 'unavailable', retryAfter: 1 });
  assert.equal((await answered).status, 503, 'the 503 is given back at once');
  assert.deepEqual(retries, []);
  assert.equal(socket.sent.length, 1, 'sent once');
  conn.stop();
});
