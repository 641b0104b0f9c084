// Tests of the page's words (webfront/static/i18n.js): every key in both
// languages and of the same kind, a sentence for every error code of
// PROTOCOL §3 and §11, and the choice of language.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CODES, campRange, en, errorSentence, josa, ko, pickLang, t, tables } from '../static/i18n.js';

test('every key is in both languages, a string in both or a function in both', () => {
  const missingInKo = Object.keys(en).filter((k) => !(k in ko));
  const missingInEn = Object.keys(ko).filter((k) => !(k in en));
  assert.deepEqual(missingInKo, [], 'keys missing in ko');
  assert.deepEqual(missingInEn, [], 'keys missing in en');
  for (const k of Object.keys(en)) {
    assert.equal(typeof ko[k], typeof en[k], `${k}: ${typeof en[k]} in en, ${typeof ko[k]} in ko`);
  }
});

test('every entry gives words in both languages', () => {
  const params = {
    why: 'x', wait: '1 s', group: 1, count: 2, members: ['J004'], running: true, left: 3, id: 'J004', host: 'J004',
    max: 5, day: 4, keywords: 'Heap', size: 2000, command: 'x', sentence: 'x', range: 'J001–J384', seconds: 2,
    value: 'J004', shown: '“!”', active: '3s', campId: 'J004', maxCount: 2, messages: 1, seq: 1, remaining: 1,
    delivered: 1, to: 'J005', from: 'J005', text: 'hi', lost: true, type: 'x', body: '{}', reason: 'x', line: 'x',
    node: 'n2', away: '1 s', n: 2, code: 4001, h: 1, m: 2, s: 3, by: '김코치', until: '2026-12-08T12:40:00Z', kicked: true, offset: 12,
    name: '김코치', reached: 3, groups: 2, checkedIn: 3, mutedCount: 1, at: '12:40:00',
  };
  for (const [l, table] of Object.entries(tables)) {
    for (const k of Object.keys(table)) {
      const said = t(k, params, l);
      assert.equal(typeof said, 'string', `${l} ${k}`);
      assert.notEqual(said.trim(), '', `${l} ${k} is empty`);
      assert.ok(!said.includes('undefined'), `${l} ${k}: ${said}`);
    }
  }
});

test('Korean words are Korean', () => {
  for (const k of ['checkin.button', 'session.start', 'error.camp-id-in-use', 'hint.no-session', 'feed.lost']) {
    assert.match(t(k, { id: 'J004', why: 'x', campId: 'J004' }, 'ko'), /[\uac00-\ud7a3]/, k);
  }
});

test('a sentence for every error code of PROTOCOL §3 and §11', () => {
  const protocol = readFileSync(new URL('../../docs/PROTOCOL.md', import.meta.url), 'utf8');
  const section = protocol.slice(protocol.indexOf('## 3. Errors'), protocol.indexOf('## 4. Events'));
  const codes = new Set();
  for (const row of section.split('\n').filter((line) => line.startsWith('| ') && /^\| \d{3} /.test(line))) {
    for (const m of row.split('|')[2].matchAll(/`([a-z-]+)`/g)) codes.add(m[1]);
  }
  assert.ok(codes.has('camp-id-in-use') && codes.has('unavailable') && codes.has('epoch-changed'), [...codes].join(' '));
  for (const code of codes) {
    assert.ok(ERROR_CODES.includes(code), `no sentence for ${code}`);
    for (const l of ['en', 'ko']) {
      assert.notEqual(errorSentence(code, 'the server says', {}, l), 'the server says', `${l} ${code}`);
    }
  }
});

test('an unknown code falls back to the server sentence', () => {
  assert.equal(errorSentence('brand-new', 'a newer server says so', {}, 'ko'), 'a newer server says so');
  assert.equal(errorSentence('', 'no code at all', {}, 'en'), 'no code at all');
});

test('the sentences name what they are given', () => {
  assert.equal(errorSentence('camp-id-in-use', '', { id: 'J004' }, 'ko'), '다른 사람이 이미 J004 아이디로 체크인해 있어요.');
  assert.match(errorSentence('bad-camp-id', '', { range: campRange('camp ids run from J001-J384') }, 'en'), /J001–J384/);
  assert.equal(campRange('camp id "x" is malformed'), '');
});

test('the language: the switch wins, then the browser first language', () => {
  assert.equal(pickLang('', ['ko-KR', 'en-US']), 'ko');
  assert.equal(pickLang('', ['ko']), 'ko');
  assert.equal(pickLang('', ['en-US', 'ko-KR']), 'en');
  assert.equal(pickLang('', ['kok']), 'en');
  assert.equal(pickLang('', []), 'en');
  assert.equal(pickLang('en', ['ko-KR']), 'en');
  assert.equal(pickLang('ko', ['en-US']), 'ko');
  assert.equal(pickLang('fr', ['ko-KR']), 'ko');
});

test('Korean particles follow the campId read aloud', () => {
  assert.equal(josa.ro('J004'), 'J004로'); // 사로
  assert.equal(josa.ro('J003'), 'J003으로'); // 삼으로
  assert.equal(josa.ro('J001'), 'J001로'); // 일로
  assert.equal(josa.eul('J005'), 'J005를');
  assert.equal(josa.eul('J006'), 'J006을');
  assert.equal(josa.eun('띄어쓰기'), '띄어쓰기는');
  assert.equal(josa.eun('캠프'), '캠프는');
  assert.equal(josa.ieyo('J001–J380'), 'J001–J380이에요');
  assert.equal(josa.ieyo('J001–J384'), 'J001–J384예요');
  assert.equal(t('feed.lost', { why: t('close.1006', {}, 'ko'), campId: 'J010' }, 'ko'), '연결이 끊겼어요: 서버가 꺼졌거나, 닿지 않거나, 이 페이지를 거부했어요. J010으로 다시 연결하는 중…');
});
