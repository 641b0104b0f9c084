// The staff page: sign in with a staff token over the same WebSocket as
// the camper page (PROTOCOL §8, §12), watch the board live, and announce,
// mute, kick, redact a group's recent message and revoke a camper's
// tokens. Served by `campbus serve` at GET /staff.
//
//   staff.js       this file: what each form, response and event does
//   board.js       the board as shown, the pacing of its refreshes
//   connection.js  the WebSocket (shared with the camper page)
//   i18n.js        the words, in Korean and English
//   view.js        form notes and the connection status
//
// The token is kept in memory only, to sign in again after a drop: never
// in localStorage.

import { Connection, ConnectionLost, backoffDelay, electing, retryAfterMs, socketURL } from './connection.js';
import { REFRESH_EVERY_MS, Recent, Refresher, boardView, campIdOf, minutesOf } from './board.js';
import { campRange, errorSentence, lang, pickLang, setLang, t } from './i18n.js';
import { applyStatic, note, relabel, status } from './view.js';
import * as words from './words.js';

const REMEMBERED_LANG = 'campbus.lang';
const MAX_BODY_BYTES = 1024;
/** A socket open this long before it closed had served: the next one comes at once. */
const HEALTHY_OPEN_MS = 5000;
/** Refusals of a staff token that no new try gets past. */
const REFUSED = new Set(['bad-token', 'forbidden', 'already-checked-in']);
/** The longest part of a message a redact's question quotes. */
const QUOTED_CHARS = 80;
/** After another error the page signs in again, at most this many times in a row. */
const SIGN_IN_TRIES = 10;

const $ = (id) => document.getElementById(id);
const ui = {
  status: $('status'),
  retryNow: $('retry-now'),
  me: $('me'),
  meWho: $('me-who'),
  signOut: $('sign-out'),
  langButtons: [...document.querySelectorAll('#lang-switch [data-lang]')],
  signinView: $('signin-view'),
  signinForm: $('signin-form'),
  token: $('staff-token'),
  signinMsg: $('signin-msg'),
  staffView: $('staff-view'),
  announceForm: $('announce-form'),
  announceText: $('announce-text'),
  announceMsg: $('announce-msg'),
  muteForm: $('mute-form'),
  muteCampId: $('mute-camp-id'),
  muteMinutes: $('mute-minutes'),
  muteMsg: $('mute-msg'),
  kickForm: $('kick-form'),
  kickCampId: $('kick-camp-id'),
  kickReason: $('kick-reason'),
  kickConfirm: $('kick-confirm'),
  kickQuestion: $('kick-question'),
  kickYes: $('kick-yes'),
  kickNo: $('kick-no'),
  kickMsg: $('kick-msg'),
  revokeForm: $('revoke-form'),
  revokeCampId: $('revoke-camp-id'),
  revokeButton: $('revoke-button'),
  revokeConfirm: $('revoke-confirm'),
  revokeQuestion: $('revoke-question'),
  revokeYes: $('revoke-yes'),
  revokeNo: $('revoke-no'),
  revokeMsg: $('revoke-msg'),
  redactConfirm: $('redact-confirm'),
  redactQuestion: $('redact-question'),
  redactYes: $('redact-yes'),
  redactNo: $('redact-no'),
  redactMsg: $('redact-msg'),
  boardSummary: $('board-summary'),
  groups: $('groups'),
  mutedAwayBox: $('muted-away-box'),
  mutedAway: $('muted-away'),
  boardMsg: $('board-msg'),
  boardIds: $('board-ids'),
};

const conn = new Connection(socketURL());

const state = {
  token: '', // the staff token signed in with, in memory only
  name: '',
  expires: '',
  signedIn: false, // the current socket is signed in
  board: null, // the last boardView
  boardAt: 0, // when it was read
  closeWhy: null,
  kickTarget: null, // {campId, reason} waiting for the confirm
  revokeTarget: null, // the campId waiting for the confirm
  redactTarget: null, // {group, offset} waiting for the confirm
  recent: new Recent(), // each group's last messages, as heard
  waiting: '', // a token given while no socket was open, to sign in with on the next
  signInTries: 0, // sign-ins again in a row that the server could not take
  signInTimer: 0, // the next of them
  openedAt: 0, // when the current socket opened
};

const refresher = new Refresher(readBoard);
let everyTimer = 0;

// ---- the connection -------------------------------------------------------

conn.addEventListener('open', () => {
  ui.retryNow.hidden = true;
  state.openedAt = Date.now();
  status(ui.status, 'up', () => t('status.connected'));
  if (state.token) signIn(state.token, { again: true });
  else if (state.waiting) signIn(state.waiting);
  state.waiting = '';
});

conn.addEventListener('close', ({ detail }) => {
  state.signedIn = false;
  refresher.cancel();
  // A socket nobody signed in on is closed at the server's checkin
  // deadline (30 s by default): that one had served, and the next comes
  // after the shortest wait, however long the sign-in form stays open.
  if (detail.opened && Date.now() - state.openedAt >= HEALTHY_OPEN_MS) conn.healthy();
  if (detail.opened) state.closeWhy = () => words.closeExplanation(detail.code, detail.reason);
  else state.closeWhy = () => t('close.unreachable');
});

conn.addEventListener('retry', ({ detail }) => {
  const why = state.closeWhy || (() => t('close.notConnected'));
  status(ui.status, 'down', () => t('status.retry', { why: why(), wait: words.formatSeconds(detail.delayMs) }));
  ui.retryNow.hidden = false;
});

// A staff connection hears every group event of the camp: each is a reason
// to read the board again, at most every REFRESH_GAP_MS; its messages are
// kept to show under their group, to redact from.
conn.addEventListener('event', ({ detail }) => {
  if (!state.signedIn) return;
  if (state.recent.take(detail.type, detail.body)) showBoard();
  refresher.poke();
});

conn.addEventListener('stray', ({ detail }) => {
  const body = detail.message.body ?? {};
  const target = state.signedIn ? ui.boardMsg : ui.signinMsg;
  note(target, () => t('stray.says', { sentence: words.printable(errorSentence(body.code, body.error ?? '')) }), { error: true });
});

ui.retryNow.addEventListener('click', () => conn.retryNow());
window.addEventListener('online', () => conn.retryNow());

// ---- signing in -----------------------------------------------------------

async function signIn(token, { again = false } = {}) {
  const target = ui.signinMsg;
  if (!conn.isOpen) {
    // Between two sockets: signed in on the next one.
    state.waiting = token;
    note(target, () => t('staff.signIn.signing'));
    return;
  }
  if (!again) note(target, () => t('staff.signIn.signing'));
  let resp;
  try {
    resp = await conn.ask('staff', { token });
  } catch (err) {
    if (!(err instanceof ConnectionLost)) throw err;
    if (!again) state.waiting = token; // signed in on the next socket
    return;
  }
  if (resp.status !== 200) {
    if (again && !REFUSED.has(resp.body.code ?? '') && state.signInTries < SIGN_IN_TRIES) {
      // The server could not take it now (busy, electing, restarting): the
      // token still holds, and the page tries again in a moment, waiting
      // longer each time (or as long as an election asks).
      note(ui.boardMsg, () => words.failedLine('staff', staffSentence('staff', {}, resp)), { error: true });
      const wait = electing(resp) ? retryAfterMs(resp) : backoffDelay(state.signInTries);
      state.signInTries++;
      clearTimeout(state.signInTimer);
      state.signInTimer = setTimeout(() => {
        if (state.token && !state.signedIn && conn.isOpen) signIn(state.token, { again: true });
      }, wait);
      return;
    }
    state.token = '';
    state.signedIn = false;
    showSignedOut();
    note(target, () => staffSentence('staff', {}, resp), { error: true, hint: () => staffHint('staff', resp.body.code) });
    return;
  }
  conn.healthy();
  state.signInTries = 0;
  state.token = token;
  state.name = String(resp.body.name ?? '');
  state.expires = String(resp.body.expires ?? '');
  state.signedIn = true;
  note(target, '');
  ui.token.value = '';
  showSignedIn();
  refresher.poke();
}

ui.signinForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const token = ui.token.value.trim();
  if (!token) {
    note(ui.signinMsg, () => t('staff.signIn.empty'), { error: true });
    ui.token.focus();
    return;
  }
  signIn(token);
});

ui.signOut.addEventListener('click', () => {
  // There is no command to sign out: a new socket is nobody's.
  clearTimeout(state.signInTimer);
  state.token = '';
  state.waiting = '';
  state.signedIn = false;
  refresher.cancel();
  state.recent.clear();
  showSignedOut();
  note(ui.signinMsg, () => t('staff.signedOut'));
  conn.drop(1000, 'signed out', { stay: true });
  ui.token.focus();
});

function showSignedIn() {
  ui.signinView.hidden = true;
  ui.staffView.hidden = false;
  ui.me.hidden = false;
  ui.meWho.textContent = t('staff.who', { name: state.name, until: formatWhen(state.expires) });
  clearInterval(everyTimer);
  everyTimer = setInterval(() => {
    if (state.signedIn) refresher.poke();
  }, REFRESH_EVERY_MS);
}

function showSignedOut() {
  clearInterval(everyTimer);
  everyTimer = 0;
  ui.staffView.hidden = true;
  ui.signinView.hidden = false;
  ui.me.hidden = true;
}

// ---- the board ------------------------------------------------------------

async function readBoard() {
  if (!state.signedIn || !conn.isOpen) return;
  let resp;
  try {
    resp = await conn.ask('board', {});
  } catch (err) {
    if (!(err instanceof ConnectionLost)) throw err;
    return;
  }
  if (resp.status !== 200) {
    note(ui.boardMsg, () => staffSentence('board', {}, resp), { error: true, hint: () => staffHint('board', resp.body.code) });
    if (resp.body.code === 'forbidden') expired();
    return;
  }
  note(ui.boardMsg, '');
  state.board = boardView(resp.body);
  state.boardAt = Date.now();
  showBoard();
}

/** expired: the server no longer takes the token; the staff member signs in anew. */
function expired() {
  state.token = '';
  state.signedIn = false;
  refresher.cancel();
  showSignedOut();
  note(ui.signinMsg, () => t('staff.expired'), { error: true });
}

function showBoard() {
  const b = state.board;
  if (!b) return;
  ui.boardSummary.textContent = t('staff.board.summary', {
    checkedIn: b.checkedIn, groups: b.groups.length, mutedCount: b.mutedCount, at: formatClock(state.boardAt),
  });
  // The board is written anew on each read: a member's button that had
  // the focus gets it back.
  const had = document.activeElement;
  const focused = had instanceof HTMLElement && had.dataset.action && had.closest('#board li[data-camp-id]')
    ? { campId: had.closest('li').dataset.campId, action: had.dataset.action, list: had.closest('ul').id }
    : null;
  const focusedMessage = had instanceof HTMLElement && had.dataset.action === 'redact' && had.closest('#board li[data-offset]')
    ? { group: had.closest('[data-group]').dataset.group, offset: had.closest('li').dataset.offset }
    : null;
  const cards = b.groups.map((g) => groupCard(g));
  if (cards.length === 0) cards.push(el('p', 'field-note', t('staff.board.empty')));
  ui.groups.replaceChildren(...cards);
  ui.mutedAwayBox.hidden = b.mutedAway.length === 0;
  ui.mutedAway.replaceChildren(...b.mutedAway.map((m) => {
    const li = el('li', 'member');
    li.dataset.campId = m.campId;
    const badges = el('span', 'member-badges');
    badges.append(el('span', 'badge badge--muted', mutedWords(m.until, m.by)));
    const acts = el('span', 'member-actions');
    acts.append(memberButton('staff.board.lift', m.campId, () => pickForMute(m.campId, 0)));
    li.append(el('span', 'member-id', m.campId), badges, acts);
    return li;
  }));
  const ids = b.groups.flatMap((g) => g.members.map((m) => m.campId));
  if (focused) {
    const scope = focused.list === 'muted-away' ? ui.mutedAway : ui.groups;
    const again = [...scope.querySelectorAll('li[data-camp-id] button[data-action]')]
      .find((btn) => btn.closest('li').dataset.campId === focused.campId && btn.dataset.action === focused.action);
    again?.focus();
  }
  if (focusedMessage) {
    const li = ui.groups.querySelector(`[data-group="${focusedMessage.group}"] li[data-offset="${focusedMessage.offset}"]`);
    const again = li?.querySelector('button[data-action="redact"]');
    if (again) again.focus();
    else ui.groups.querySelector(`#group-${focusedMessage.group}-recent`)?.focus();
  }
  ui.boardIds.replaceChildren(...ids.map((id) => Object.assign(document.createElement('option'), { value: id })));
}

function groupCard(g) {
  const card = el('section', 'group');
  card.dataset.group = String(g.group);
  const title = el('h3', '', t('me.group', { group: g.group }));
  title.id = `group-${g.group}-title`;
  card.setAttribute('aria-labelledby', title.id);
  const session = g.session
    ? t('staff.board.session', { host: g.session.host, messages: g.session.messages, maxCount: g.session.maxCount })
    : t('staff.board.noSession');
  const sessionLine = el('p', 'session-state', session);
  sessionLine.dataset.role = 'session';
  const list = el('ul', 'members');
  for (const m of g.members) {
    const li = el('li', 'member');
    li.dataset.campId = m.campId;
    const badges = el('span', 'member-badges');
    if (m.host) badges.append(el('span', 'badge badge--host', t('staff.board.host')));
    if (m.mutedUntil) badges.append(el('span', 'badge badge--muted', mutedWords(m.mutedUntil, m.mutedBy)));
    li.append(el('span', 'member-id', m.campId), badges);
    const acts = el('span', 'member-actions');
    if (m.mutedUntil) acts.append(memberButton('staff.board.lift', m.campId, () => pickForMute(m.campId, 0)));
    else acts.append(memberButton('staff.board.mute', m.campId, () => pickForMute(m.campId)));
    acts.append(memberButton('staff.board.kick', m.campId, () => pickForKick(m.campId)));
    acts.append(memberButton('staff.board.revoke', m.campId, () => pickForRevoke(m.campId)));
    li.append(acts);
    list.append(li);
  }
  card.append(title, el('p', 'field-note', t('staff.board.members', { n: g.members.length })), sessionLine, list,
    recentList(g.group));
  return card;
}

/** recentList is the group's last messages as heard, each with its Redact button. */
function recentList(group) {
  const box = el('div', 'recent');
  box.dataset.role = 'recent';
  const heading = el('h4', '', t('staff.recent.title'));
  heading.id = `group-${group}-recent`;
  heading.tabIndex = -1;
  const kept = state.recent.of(group);
  if (kept.length === 0) {
    box.append(heading, el('p', 'field-note', t('staff.recent.none')));
    return box;
  }
  const list = el('ul', 'recent-list');
  list.setAttribute('aria-labelledby', heading.id);
  for (const m of kept) {
    const li = el('li', 'recent-message');
    li.dataset.offset = String(m.offset);
    if (m.redactedBy) li.dataset.redacted = 'true';
    const from = el('span', 'recent-from', m.from);
    const text = m.redactedBy
      ? el('span', 'recent-text recent-text--redacted', t('feed.redactedText', { by: m.redactedBy }))
      : el('span', 'recent-text', m.text);
    const line = el('span', 'recent-line');
    line.append(from);
    if (m.announcement) line.append(el('span', 'badge', t('staff.recent.announcement')));
    line.append(text);
    li.append(el('span', 'recent-offset', `#${m.offset}`), line);
    if (!m.redactedBy) {
      const b = el('button', 'button--small', t('staff.recent.redact'));
      b.type = 'button';
      b.dataset.action = 'redact';
      b.setAttribute('aria-label', t('staff.recent.redactOf', { from: m.from, offset: m.offset }));
      // The offset as the list names it, read at the click.
      b.addEventListener('click', () => askRedact(group, Number(li.dataset.offset)));
      li.append(b);
    }
    list.append(li);
  }
  box.append(heading, list);
  return box;
}

function memberButton(key, campId, run) {
  const b = el('button', 'button--small', t(key));
  b.type = 'button';
  b.dataset.action = key.slice(key.lastIndexOf('.') + 1);
  b.setAttribute('aria-label', t(key + 'Of', { campId }));
  b.addEventListener('click', run);
  return b;
}

function mutedWords(until, by) {
  return until ? t('staff.board.mutedUntil', { until: formatClock(Date.parse(until)), by }) : t('staff.board.muted');
}

// ---- the controls ---------------------------------------------------------

async function send(command, body, target) {
  const size = new TextEncoder().encode(JSON.stringify(body)).length;
  if (size > MAX_BODY_BYTES) {
    note(target, () => t('send.tooLong', { size, max: MAX_BODY_BYTES }), { error: true, hint: () => t('send.tooLongHint') });
    return null;
  }
  if (!state.signedIn) {
    note(target, () => t('staff.notSignedIn'), { error: true });
    return null;
  }
  let resp;
  try {
    resp = await conn.ask(command, body);
  } catch (err) {
    if (!(err instanceof ConnectionLost)) throw err;
    note(target, () => words.failedLine(command, t('send.dropped')), { error: true });
    return null;
  }
  if (resp.status === 200) return resp.body;
  note(target, () => words.failedLine(command, staffSentence(command, body, resp)), {
    error: true, hint: () => staffHint(command, resp.body.code),
  });
  if (resp.body.code === 'forbidden' && command !== 'staff') expired();
  return null;
}

ui.announceForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const text = ui.announceText.value;
  if (!text.trim()) {
    note(ui.announceMsg, () => t('staff.announce.empty'), { error: true });
    return;
  }
  const r = await send('announce', { text }, ui.announceMsg);
  if (!r) return;
  ui.announceText.value = '';
  const reached = Number(r.reached) || 0;
  const groups = Number(r.groups) || 0;
  note(ui.announceMsg, () => t('staff.announce.done', { reached, groups }));
});

ui.muteForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const campId = campIdOf(ui.muteCampId.value);
  const body = { campId, minutes: minutesOf(ui.muteMinutes.value) };
  const r = await send('mute', body, ui.muteMsg);
  if (!r) return;
  const until = String(r.until ?? '');
  const id = String(r.campId ?? campId);
  note(ui.muteMsg, () => (until ? t('staff.mute.done', { campId: id, until: formatClock(Date.parse(until)) }) : t('staff.mute.lifted', { campId: id })));
  refresher.poke(); // the camper hears of it, the group does not
});

ui.kickForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const campId = campIdOf(ui.kickCampId.value);
  if (!campId) {
    note(ui.kickMsg, () => t('staff.kick.noCampId'), { error: true });
    ui.kickCampId.focus();
    return;
  }
  state.kickTarget = { campId, reason: ui.kickReason.value.trim() };
  note(ui.kickMsg, '');
  showKickQuestion();
  ui.kickConfirm.hidden = false;
  ui.kickYes.focus();
});

function showKickQuestion() {
  const k = state.kickTarget;
  if (!k) return;
  ui.kickQuestion.textContent = k.reason ? t('staff.kick.askWhy', { campId: k.campId, reason: k.reason }) : t('staff.kick.ask', { campId: k.campId });
}

ui.kickNo.addEventListener('click', () => {
  state.kickTarget = null;
  ui.kickConfirm.hidden = true;
  ui.kickCampId.focus();
});

ui.kickYes.addEventListener('click', async () => {
  const k = state.kickTarget;
  if (!k) return;
  state.kickTarget = null;
  ui.kickConfirm.hidden = true;
  const body = { campId: k.campId };
  if (k.reason) body.reason = k.reason;
  const r = await send('kick', body, ui.kickMsg);
  if (!r) return;
  ui.kickReason.value = '';
  const group = Number(r.group) || 0;
  note(ui.kickMsg, () => t('staff.kick.done', { campId: k.campId, group }));
});

// ---- redact and revoke ----------------------------------------------------

/** askRedact asks for the confirm to redact the group's message at offset. */
function askRedact(group, offset) {
  state.redactTarget = { group, offset };
  note(ui.redactMsg, '');
  showRedactQuestion();
  ui.redactConfirm.hidden = false;
  ui.redactConfirm.scrollIntoView({ block: 'nearest' });
  ui.redactYes.focus();
}

function showRedactQuestion() {
  const r = state.redactTarget;
  if (!r) return;
  const m = state.recent.find(r.group, r.offset);
  const text = m ? m.text : '';
  ui.redactQuestion.textContent = t('staff.redact.ask', {
    group: r.group, offset: r.offset, from: m ? m.from : '?',
    text: text.length > QUOTED_CHARS ? text.slice(0, QUOTED_CHARS) + '…' : text,
  });
}

function backToRecent(group) {
  const heading = document.getElementById(`group-${group}-recent`);
  heading?.focus();
}

ui.redactNo.addEventListener('click', () => {
  const r = state.redactTarget;
  state.redactTarget = null;
  ui.redactConfirm.hidden = true;
  if (r) backToRecent(r.group);
});

ui.redactYes.addEventListener('click', async () => {
  const r = state.redactTarget;
  if (!r) return;
  state.redactTarget = null;
  ui.redactConfirm.hidden = true;
  const ok = await send('redact', { group: r.group, offset: r.offset }, ui.redactMsg);
  backToRecent(r.group);
  if (!ok) return;
  if (state.recent.redacted(r.group, r.offset, state.name)) showBoard();
  note(ui.redactMsg, () => t('staff.redact.done', { group: r.group, offset: r.offset }));
});

ui.revokeForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const campId = campIdOf(ui.revokeCampId.value);
  if (!campId) {
    note(ui.revokeMsg, () => t('staff.revoke.noCampId'), { error: true });
    ui.revokeCampId.focus();
    return;
  }
  state.revokeTarget = campId;
  note(ui.revokeMsg, '');
  showRevokeQuestion();
  ui.revokeConfirm.hidden = false;
  ui.revokeYes.focus();
});

function showRevokeQuestion() {
  if (state.revokeTarget) ui.revokeQuestion.textContent = t('staff.revoke.ask', { campId: state.revokeTarget });
}

ui.revokeNo.addEventListener('click', () => {
  state.revokeTarget = null;
  ui.revokeConfirm.hidden = true;
  ui.revokeCampId.focus();
});

ui.revokeYes.addEventListener('click', async () => {
  const campId = state.revokeTarget;
  if (!campId) return;
  state.revokeTarget = null;
  ui.revokeConfirm.hidden = true;
  ui.revokeCampId.focus();
  const r = await send('revoke', { campId }, ui.revokeMsg);
  if (!r) return;
  const id = String(r.campId ?? campId);
  const before = String(r.before ?? '');
  const group = Number(r.group) || 0;
  note(ui.revokeMsg, () => {
    const until = formatWhen(before, { second: '2-digit' });
    return group ? t('staff.revoke.done', { campId: id, until, group }) : t('staff.revoke.doneAway', { campId: id, until });
  });
  refresher.poke();
});

/** pickForRevoke fills the revoke form with campId and goes to its button. */
function pickForRevoke(campId) {
  ui.revokeCampId.value = campId;
  note(ui.revokeMsg, '');
  ui.revokeButton.scrollIntoView({ block: 'nearest' });
  ui.revokeButton.focus();
}

/** pickForMute fills the mute form with campId (and minutes, when given) and goes to it. */
function pickForMute(campId, minutes) {
  ui.muteCampId.value = campId;
  if (minutes !== undefined) ui.muteMinutes.value = String(minutes);
  note(ui.muteMsg, '');
  ui.muteMinutes.scrollIntoView({ block: 'nearest' });
  ui.muteMinutes.focus();
  ui.muteMinutes.select();
}

/** pickForKick fills the kick form with campId and asks for the confirm. */
function pickForKick(campId) {
  ui.kickCampId.value = campId;
  ui.kickReason.scrollIntoView({ block: 'nearest' });
  ui.kickReason.focus();
}

// ---- words ----------------------------------------------------------------

/**
 * staffSentence is the page's sentence for an error response to a staff
 * command: the staff page's own for the codes staff meet (§12), else the
 * camper page's, else the server's.
 */
function staffSentence(command, request, resp) {
  const code = resp.body?.code ?? '';
  const params = {
    id: typeof request?.campId === 'string' ? request.campId : '',
    range: campRange(resp.body?.error),
    seconds: Number.isFinite(resp.body?.retryAfter) ? resp.body.retryAfter : '',
  };
  for (const key of [`staff.error.${command}.${code}`, `staff.error.${code}`]) {
    if (code && t(key, params) !== key) return t(key, params);
  }
  return errorSentence(code, resp.body?.error ?? `status ${resp.status}`, params);
}

/** staffHint is what to do about an error code, pointing at the page's own controls, or ''. */
function staffHint(command, code) {
  for (const key of [`staff.hint.${command}.${code}`, `staff.hint.${code}`]) {
    if (code && t(key) !== key) return t(key);
  }
  return '';
}

const clocks = new Map();
function formatClock(ms) {
  if (!Number.isFinite(ms)) return '';
  const l = lang();
  if (!clocks.has(l)) clocks.set(l, new Intl.DateTimeFormat(l, { hour: '2-digit', minute: '2-digit', second: '2-digit' }));
  return clocks.get(l).format(new Date(ms));
}

function formatWhen(iso, more = {}) {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return '';
  return new Intl.DateTimeFormat(lang(), { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', ...more }).format(new Date(ms));
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// ---- the language ---------------------------------------------------------

function storedLang() {
  try {
    return localStorage.getItem(REMEMBERED_LANG) ?? '';
  } catch {
    return '';
  }
}

function showLang() {
  document.documentElement.lang = lang();
  applyStatic(document);
  for (const b of ui.langButtons) b.setAttribute('aria-pressed', String(b.dataset.lang === lang()));
  relabel();
  if (state.signedIn) ui.meWho.textContent = t('staff.who', { name: state.name, until: formatWhen(state.expires) });
  showKickQuestion();
  showRevokeQuestion();
  showRedactQuestion();
  showBoard();
}

for (const b of ui.langButtons) {
  b.addEventListener('click', () => {
    setLang(b.dataset.lang);
    try {
      localStorage.setItem(REMEMBERED_LANG, lang());
    } catch {
      // the choice holds for this visit only
    }
    showLang();
  });
}

setLang(pickLang(storedLang(), navigator.languages ?? [navigator.language]));
showLang();
status(ui.status, 'connecting', () => t('status.connecting'));
conn.start();
