// campbus in the browser: check in, see the group, talk in peer sessions,
// send directs, look up missions. Served by `campbus serve` at GET / and
// speaking PROTOCOL §8 (JSON over the WebSocket at /ws). Plain ES modules,
// no build step and nothing from the network but the campbus server:
//
//   app.js         this file: the camper's state, and what each form,
//                  response and event does to it and to the page
//   connection.js  the WebSocket: requests matched to responses by id,
//                  events, reconnects with capped exponential backoff
//   i18n.js        the page's words, one table per language (Korean and
//                  English), and the page's sentence for each error code
//   words.js       the lines shown for responses, events and closes (in
//                  English worded as the CLI words them)
//   hints.js       what to do about each error code, pointing at the
//                  page's own controls
//   campid.js      the campId field's check as the camper types
//   view.js        DOM: the feed (an ARIA log), the member list, form notes,
//                  the connection status

import { Connection, ConnectionLost, socketURL, socketURLOf } from './connection.js';
import { checkCampId } from './campid.js';
import { hintFor } from './hints.js';
import { campRange, errorSentence, lang, pickLang, setLang, t } from './i18n.js';
import { Feed, applyStatic, note, relabel, renderMembers, status } from './view.js';
import * as words from './words.js';

/** Request bodies travel under the server's limit of 1024 bytes (PROTOCOL §1). */
const MAX_BODY_BYTES = 1024;
/** How many stored events to show on opening (after the first checkin). */
const HISTORY_LIMIT = 50;
/** Checkin errors that a new try can get past; others need the camper. */
const RETRYABLE_CHECKIN = new Set(['camp-id-in-use', 'shutting-down', 'rate-limited', 'internal', 'too-many-connections', 'unavailable']);
const REMEMBERED_ID = 'campbus.campId';
const REMEMBERED_LANG = 'campbus.lang';
/** Narrow screens fold the group, session and mission cards into a bar (style.css). */
const NARROW = window.matchMedia('(max-width: 600px)');

const $ = (id) => document.getElementById(id);
const ui = {
  status: $('status'),
  retryNow: $('retry-now'),
  me: $('me'),
  meId: $('me-id'),
  meGroup: $('me-group'),
  checkout: $('checkout'),
  checkinView: $('checkin-view'),
  checkinForm: $('checkin-form'),
  campId: $('camp-id'),
  campIdCheck: $('camp-id-check'),
  tokenBox: $('token-box'),
  token: $('token'),
  checkinButton: $('checkin-button'),
  checkinMsg: $('checkin-msg'),
  campView: $('camp-view'),
  side: $('side'),
  foldBar: $('fold-bar'),
  foldGroup: $('fold-group'),
  foldSession: $('fold-session'),
  langButtons: [...document.querySelectorAll('#lang-switch [data-lang]')],
  compose: $('compose'),
  groupTitle: $('group-title'),
  members: $('members'),
  memberIds: $('member-ids'),
  sessionState: $('session-state'),
  sessionForm: $('session-form'),
  startSession: $('start-session'),
  maxCount: $('max-count'),
  complete: $('complete'),
  sessionMsg: $('session-msg'),
  missionForm: $('mission-form'),
  day: $('day'),
  missionMsg: $('mission-msg'),
  feed: $('feed'),
  messageForm: $('message-form'),
  messageText: $('message-text'),
  remaining: $('remaining'),
  messageMsg: $('message-msg'),
  directForm: $('direct-form'),
  directTo: $('direct-to'),
  directText: $('direct-text'),
  directMsg: $('direct-msg'),
};

const feed = new Feed(ui.feed);
const conn = new Connection(socketURL());

const state = {
  campId: '', // checked in as this, or checking in again as this after a drop
  token: '',
  inCamp: false, // the current socket is checked in
  group: 0,
  members: [],
  session: null, // {host, maxCount, remaining} as last seen; host '' when unknown
  lastOffset: null, // the last group-log offset seen, for catching up (PROTOCOL §5)
  epoch: null, // the epoch of the log lastOffset counts in (PROTOCOL §11), when the server gives one
  checkinOffset: null, // the offset of the camper's own join, from the last checkin
  lastKey: '', // eventKey of the last group event seen, for catching up without offsets
  directsSince: [], // directs seen since the last group event: a catch-up sends them again
  arriving: null, // while catching up: {offsets, directs} shown live meanwhile
  droppedAt: 0, // when a checked-in camper's socket closed
  closeWhy: '', // why the last socket closed: a function that says it in the language shown
  closeNote: '', // why the open socket is about to close, when the page knows first (a function too)
  checkingIn: false,
  lostURL: '', // the socket address of the node a checked-in camper lost
  toldInUse: false, // the wait for the camp to release the campId was told
  nodeNames: new Map(), // socket address → node name, from the checkin's nodes
  electing: false, // the status line says the camp is electing a leader
};

// ---- the connection -------------------------------------------------------

conn.addEventListener('open', () => {
  ui.retryNow.hidden = true;
  status(ui.status, 'up', () => t('status.connected'));
  state.closeNote = '';
  if (state.campId) checkIn(state.campId, state.token, { again: state.droppedAt !== 0 });
});

conn.addEventListener('close', ({ detail }) => {
  const wasIn = state.inCamp;
  state.inCamp = false;
  if (!conn.isWanted) {
    status(ui.status, 'off', () => t('status.off'));
    return;
  }
  if (state.closeNote) state.closeWhy = state.closeNote;
  else if (detail.opened) state.closeWhy = () => words.closeExplanation(detail.code, detail.reason);
  else state.closeWhy = () => t('close.unreachable');
  state.closeNote = '';
  if (wasIn) {
    state.droppedAt = Date.now();
    state.lostURL = detail.url;
    state.toldInUse = false;
    const why = state.closeWhy;
    const campId = state.campId;
    feed.add({ kind: 'system', text: () => t('feed.lost', { why: why(), campId }) });
  }
});

conn.addEventListener('retry', ({ detail }) => {
  const why = state.closeWhy || (() => t('close.notConnected'));
  status(ui.status, 'down', () => t('status.retry', { why: why(), wait: words.formatSeconds(detail.delayMs) }));
  ui.retryNow.hidden = false;
});

conn.addEventListener('event', ({ detail }) => onEvent(detail.type, detail.body));

// A response that answers no request: too-many-connections, sent as a
// socket opens, or malformed, when the server could not read the id.
conn.addEventListener('stray', ({ detail }) => {
  const body = detail.message.body ?? {};
  const text = () =>
    t('stray.says', { sentence: words.printable(errorSentence(body.code, body.error ?? JSON.stringify(detail.message))) });
  const hint = body.code === 'too-many-connections' ? () => t('hint.too-many-connections') : '';
  if (state.inCamp) feed.add({ kind: 'error', text, meta: hint && (() => t('hint') + ' ' + hint()) });
  else note(ui.checkinMsg, text, { error: true, hint });
});

ui.retryNow.addEventListener('click', () => conn.retryNow());
window.addEventListener('online', () => conn.retryNow());

// ---- checkin and checkout -------------------------------------------------

// The last campId checked in with fills the field; a browser that keeps no
// storage (some private modes throw) just starts empty.
function remembered() {
  try {
    return localStorage.getItem(REMEMBERED_ID) ?? '';
  } catch {
    return '';
  }
}
function remember(campId) {
  try {
    localStorage.setItem(REMEMBERED_ID, campId);
  } catch {
    // nothing to do: the field starts empty next time
  }
}

setLang(pickLang(storedLang(), navigator.languages ?? [navigator.language]));
ui.campId.value = remembered();
showCampIdCheck(false);
ui.campId.addEventListener('input', () => showCampIdCheck(false));

/** showCampIdCheck writes the campId check under the field; loud marks a wrong one invalid. */
function showCampIdCheck(loud) {
  const check = checkCampId(ui.campId.value);
  const wrong = !check.ok && (loud || !check.empty);
  ui.campId.setAttribute('aria-invalid', String(wrong));
  ui.campIdCheck.textContent = check.message;
  ui.campIdCheck.classList.toggle('field-note--wrong', wrong);
  ui.campIdCheck.classList.toggle('field-note--ok', check.ok && !check.unusual);
  ui.campIdCheck.classList.toggle('field-note--unusual', check.ok && check.unusual);
  return check;
}

ui.checkinForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const check = showCampIdCheck(true);
  if (!check.ok) {
    ui.campId.focus();
    return;
  }
  note(ui.checkinMsg, '');
  state.token = ui.token.value.trim();
  state.droppedAt = 0;
  if (conn.isOpen) {
    checkIn(check.value, state.token, { again: false });
  } else {
    // Checked in as soon as a socket opens (see the open listener).
    state.campId = check.value;
    note(ui.checkinMsg, () => t('checkin.connecting'));
    conn.start();
    conn.retryNow();
  }
});

/** checkIn sends checkin; again is set when it follows a drop. */
async function checkIn(campId, token, { again }) {
  if (state.checkingIn) return;
  state.checkingIn = true;
  ui.checkinButton.disabled = true;
  const body = token ? { campId, token } : { campId };
  let resp;
  try {
    resp = await conn.ask('checkin', body, { onRetry: electionNotice });
  } catch (err) {
    if (!(err instanceof ConnectionLost)) throw err;
    if (!again) note(ui.checkinMsg, () => t('checkin.notYet'));
    state.campId = campId;
    return;
  } finally {
    state.checkingIn = false;
    ui.checkinButton.disabled = false;
  }
  endElectionNotice();
  if (resp.status !== 200) {
    const { code = '', error = '' } = resp.body;
    if (again && RETRYABLE_CHECKIN.has(code)) {
      const inUse = code === 'camp-id-in-use';
      state.closeNote = inUse
        ? () => t('close.heldFor', { campId })
        : () => t('close.checkinFailed', { sentence: words.printable(sentenceOf('checkin', body, resp.body)) });
      if (inUse && !state.toldInUse) {
        // The node is up: wait there until the camp releases the campId.
        state.toldInUse = true;
        feed.add({ kind: 'system', text: () => t('feed.stillHeld', { campId }) });
      }
      conn.drop(1000, 'checkin again later', { stay: inUse });
      return;
    }
    state.campId = '';
    if (again) leaveCamp();
    tellError(ui.checkinMsg, 'checkin', body, resp.body);
    if (code === 'bad-token') {
      // A camp with a secret (PROTOCOL §9): the token field, open and ready.
      ui.tokenBox.open = true;
      ui.token.select();
      ui.token.focus();
    } else {
      ui.campId.focus();
    }
    return;
  }
  enterCamp(resp.body, campId, again);
}

function enterCamp(body, campId, again) {
  const sameGroup = again && body.group === state.group;
  const after = sameGroup ? state.lastOffset : null; // catch up from here
  const epoch = sameGroup ? state.epoch : null; // in the log it counted in
  state.campId = body.campId ?? campId;
  state.inCamp = true;
  state.group = body.group;
  state.members = Array.isArray(body.members) ? body.members : [state.campId];
  if (!sameGroup) {
    state.session = null;
    // The offset of the camper's own join, which it gets no event for.
    state.lastOffset = typeof body.offset === 'number' ? body.offset : null;
    state.lastKey = '';
  }
  // The checkin's epoch is the log's now; a catch-up is asked in the old one.
  state.epoch = typeof body.epoch === 'string' ? body.epoch : null;
  state.checkinOffset = typeof body.offset === 'number' ? body.offset : null;
  // What arrives live while the missed events are fetched, not to show twice.
  state.arriving = sameGroup ? { offsets: new Set(), directs: [] } : null;
  conn.healthy();
  learnNodes(body.nodes);
  remember(state.campId);

  ui.checkinView.hidden = true;
  ui.campView.hidden = false;
  setControlsLive(true);
  ui.me.hidden = false;
  ui.meId.textContent = state.campId;
  showGroup();
  status(ui.status, 'up', () => t('status.connected'));

  const now = feed.mark(() => t('feed.now')); // history goes in above it
  if (again) {
    const awayMs = Date.now() - state.droppedAt;
    const away = () => words.formatSeconds(awayMs);
    const moved = state.lostURL !== '' && conn.url !== state.lostURL;
    const node = nodeName(conn.url);
    feed.add({ kind: 'system', text: moved ? () => t('feed.reconnectedTo', { node, away: away() }) : () => t('feed.reconnected', { away: away() }) });
    state.droppedAt = 0;
    state.lostURL = '';
  }
  if (!sameGroup) feed.add({ kind: 'result', text: () => words.checkinLine(body) });
  showMembers();
  showSession();
  loadHistory(sameGroup, after, now, epoch);
  if (!again) ui.messageText.focus();
}

/**
 * loadHistory shows the stored events before the `now` mark. On opening,
 * the last HISTORY_LIMIT. After a drop in the same group, the ones missed:
 * those after offset `after` when the server numbers its events (page by
 * page, PROTOCOL §5, in the epoch they counted in), or else those after the
 * last group event seen among the last HISTORY_LIMIT. When the camp's log
 * was started anew meanwhile (409 epoch-changed, PROTOCOL §11), the latest
 * HISTORY_LIMIT of the new log, and a word that the events before are gone.
 */
async function loadHistory(catchUp, after, now, epoch = null) {
  let byOffset = catchUp && after !== null;
  let events = [];
  let trimmed = false;
  let restarted = false;
  try {
    if (byOffset) {
      try {
        ({ events, trimmed } = await missedSince(after, epoch));
      } catch (err) {
        if (!(err instanceof HistoryRefused) || err.code !== 'epoch-changed') throw err;
        restarted = true;
        byOffset = false;
        state.lastKey = '';
        state.lastOffset = state.checkinOffset; // the old log's offsets mean nothing in the new one
        events = await storedEvents({ limit: HISTORY_LIMIT });
      }
    } else {
      events = await storedEvents({ limit: HISTORY_LIMIT });
    }
  } catch (err) {
    if (err instanceof HistoryRefused) {
      feed.add({
        kind: 'error',
        text: () => words.failedLine('history', err.sentence()),
        meta: () => (err.hint() ? t('hint') + ' ' + err.hint() : ''),
        before: now,
      });
    }
    state.arriving = null;
    return; // a drop is shown by the close listener
  }
  if (catchUp) {
    if (byOffset) {
      const live = state.arriving?.offsets ?? new Set();
      events = events.filter((ev) => !(typeof ev.offset === 'number' && (ev.offset <= after || live.has(ev.offset))));
    } else if (restarted) {
      const live = state.arriving?.offsets ?? new Set();
      events = events.filter((ev) => !(typeof ev.offset === 'number' && live.has(ev.offset)));
    } else if (state.lastKey !== '') {
      const last = events.findLastIndex((ev) => eventKey(ev.type, ev) === state.lastKey);
      if (last >= 0) events = events.slice(last + 1);
    }
    events = events.filter((ev) => !shownAlready(ev));
  }
  state.directsSince = [];
  state.arriving = null;
  if (events.length === 0) {
    if (catchUp && !restarted) now.remove();
    else feed.mark(() => t(restarted ? 'feed.restartedEmpty' : 'feed.noEarlier'), now);
  } else {
    const n = events.length;
    const key = restarted ? 'feed.restartedLatest' : catchUp ? 'feed.missed' : 'feed.earlierN';
    feed.mark(() => t(key, { n }), now);
    ui.feed.setAttribute('aria-busy', 'true'); // one announcement, not fifty
    for (const ev of events) {
      const { type, ...evBody } = ev;
      track(type, evBody, { live: false });
      showEvent(type, evBody, { earlier: true, before: now });
    }
    ui.feed.setAttribute('aria-busy', 'false');
  }
  if (trimmed) {
    feed.add({ kind: 'system', text: () => t('feed.trimmed'), before: now });
  }
  if (restarted) {
    feed.add({ kind: 'system', text: () => t('feed.restarted'), before: now });
  }
  showMembers();
  showSession();
}

/** The most history pages read to catch up, of MAX_HISTORY events each. */
const CATCH_UP_PAGES = 10;
const MAX_HISTORY = 1000;

/** HistoryRefused is a history request the server answered with an error. */
class HistoryRefused extends Error {
  constructor(body, request) {
    super(body.error ?? '');
    this.code = body.code ?? '';
    this.sentence = () => sentenceOf('history', request, body);
    this.hint = () => hintFor('history', request, this.code).text;
  }
}

/** storedEvents asks history with body and returns its events. */
async function storedEvents(body) {
  return (await historyPage(body)).events;
}

async function historyPage(body) {
  const resp = await conn.ask('history', body, { onRetry: electionNotice });
  endElectionNotice();
  if (resp.status !== 200) throw new HistoryRefused(resp.body, body);
  if (typeof resp.body.epoch === 'string') state.epoch = resp.body.epoch;
  return {
    events: Array.isArray(resp.body.events) ? resp.body.events : [],
    next: resp.body.next,
    trimmed: resp.body.trimmed === true,
  };
}

/**
 * missedSince reads the group's events after offset `after`, page by page,
 * and the directs since; epoch, when known, is the log's the offset counts in.
 */
async function missedSince(after, epoch) {
  let events = [];
  let trimmed = false;
  for (let page = 0, from = after; page < CATCH_UP_PAGES; page++) {
    const ask = { after: from, limit: MAX_HISTORY };
    if (epoch) ask.epoch = epoch;
    const got = await historyPage(ask);
    events = events.concat(got.events);
    trimmed ||= got.trimmed;
    const groupEvents = got.events.filter((ev) => ev.type !== 'direct').length;
    if (groupEvents < MAX_HISTORY || typeof got.next !== 'number' || got.next <= from) break;
    from = got.next;
  }
  return { events, trimmed };
}

const GROUP_EVENTS = new Set(['join', 'checkout', 'peersession', 'message', 'complete', 'announcement']);

/**
 * eventKey names a group event by its type and fields, whether it came live
 * or from history (which adds "type"); the offset is left out, so that it
 * works with servers that number events and those that do not.
 */
function eventKey(type, body) {
  const { offset, type: _, ...fields } = body;
  return type + JSON.stringify(Object.keys(fields).sort().map((k) => [k, fields[k]]));
}

/**
 * shownAlready tells the events of a catch-up that the feed has shown: those
 * the camper caused (it got the responses, which carry no offset; its own
 * leaving and coming back is the drop itself), and the directs seen since
 * the last group event (a direct carries no offset).
 */
function shownAlready(ev) {
  const me = state.campId;
  switch (ev.type) {
    case 'join':
    case 'checkout':
      return ev.campId === me;
    case 'peersession':
      return ev.host === me;
    case 'complete':
      return ev.host === me && ev.reason !== 'host-left';
    case 'message':
      return ev.from === me;
    case 'direct': {
      if (ev.from === me) return true;
      // Seen before the drop, or arriving live since.
      for (const seen of [state.directsSince, state.arriving?.directs ?? []]) {
        const i = seen.findIndex((d) => d.from === ev.from && d.text === ev.text);
        if (i >= 0) {
          seen.splice(i, 1);
          return true;
        }
      }
      return false;
    }
  }
  return false;
}

ui.checkout.addEventListener('click', async () => {
  const resp = await send('checkout', {}, null);
  if (!resp) return;
  conn.stop(); // the server closes the socket after this response
  conn.drop();
  feed.add({ kind: 'result', text: () => words.checkoutLine(resp) });
  state.campId = '';
  leaveCamp();
  note(ui.checkinMsg, () => t('checkin.checkedOut', { active: words.formatActiveTime(resp.activeMs) }));
  ui.campId.focus();
});

/**
 * leaveCamp goes back to the checkin form. The feed stays below it to be
 * read; the controls that need a checkin are set aside until the next one.
 */
function leaveCamp() {
  state.inCamp = false;
  state.droppedAt = 0;
  ui.me.hidden = true;
  ui.checkinView.hidden = false;
  setControlsLive(false);
}

function setControlsLive(live) {
  ui.campView.classList.toggle('camp--past', !live);
  ui.side.inert = !live;
  ui.compose.inert = !live;
}

// ---- commands -------------------------------------------------------------

/**
 * send sends command and returns the response body on 200. On an error it
 * writes the server's sentence and the CLI's hint under the form (target,
 * or in the feed when null) and returns null.
 */
async function send(command, body, target) {
  const tell = (text, options) => tellIn(target, text, options);
  const size = new TextEncoder().encode(JSON.stringify(body)).length;
  if (size > MAX_BODY_BYTES) {
    tell(() => t('send.tooLong', { size, max: MAX_BODY_BYTES }), { error: true, hint: () => t('send.tooLongHint') });
    return null;
  }
  if (!state.inCamp) {
    const key = state.campId ? 'send.reconnecting' : 'send.notIn';
    tell(() => t(key), { error: true });
    return null;
  }
  let resp;
  try {
    resp = await conn.ask(command, body, { onRetry: electionNotice });
  } catch (err) {
    if (!(err instanceof ConnectionLost)) throw err;
    tell(() => words.failedLine(command, t('send.dropped')), { error: true });
    return null;
  }
  endElectionNotice();
  if (resp.status === 200) {
    tell('');
    return resp.body;
  }
  learnFromError(command, resp.body.code ?? '');
  tellError(target, command, body, resp.body.error === undefined ? { ...resp.body, error: `status ${resp.status}` } : resp.body);
  return null;
}

/** tellIn writes text under the form target, or in the feed when target is null. */
function tellIn(target, text, options = {}) {
  if (target) note(target, text, options);
  else if (text) {
    const hint = typeof options.hint === 'function' ? options.hint : () => options.hint ?? '';
    feed.add({ kind: 'error', text, meta: () => (hint() ? t('hint') + ' ' + hint() : '') });
  }
}

/**
 * sentenceOf is the page's sentence for an error response (PROTOCOL §3) to
 * command with request body, in the language shown; the server's own for a
 * code the page does not know.
 */
function sentenceOf(command, request, resp) {
  const params = {
    id: typeof request?.campId === 'string' ? request.campId : '',
    day: Number.isInteger(request?.day) ? request.day : '',
    range: campRange(resp.error),
    seconds: Number.isFinite(resp.retryAfter) ? resp.retryAfter : '',
  };
  return errorSentence(resp.code, resp.error, params);
}

/** tellError shows an error response under target (or in the feed): what failed, why, and what to do. */
function tellError(target, command, request, resp) {
  const code = resp.code ?? '';
  const amHost = state.session !== null && state.session.host === state.campId;
  const hint = () => hintFor(command, request, code, { amHost }).text;
  const action = hintFor(command, request, code).action === 'startSession'
    ? { label: () => t('action.startSession'), run: goToStartSession }
    : null;
  tellIn(target, () => words.failedLine(command, sentenceOf(command, request, resp)), { error: true, hint, action });
}

/** intOrText sends a number when the field holds one, so the server judges the rest. */
function intOrText(text) {
  const t = text.trim();
  return /^[+-]?\d+$/.test(t) ? Number(t) : t;
}

ui.missionForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const body = { day: intOrText(ui.day.value) };
  const resp = await send('mission', body, ui.missionMsg);
  if (resp) note(ui.missionMsg, () => words.missionLine(resp));
});

ui.sessionForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const resp = await send('peersession', { maxCount: intOrText(ui.maxCount.value) }, ui.sessionMsg);
  if (!resp) return;
  state.session = { host: resp.host ?? state.campId, maxCount: resp.maxCount, remaining: resp.maxCount };
  feed.add({ kind: 'result', text: () => words.peerSessionLine(resp) });
  showSession();
  showMembers();
  if (NARROW.matches) openPanel(''); // the message box in sight on a phone
  ui.messageText.focus();
});

ui.complete.addEventListener('click', async () => {
  const resp = await send('complete', {}, ui.sessionMsg);
  if (!resp) return;
  state.session = null;
  feed.add({ kind: 'result', text: () => words.completeLine(resp) });
  showSession();
  showMembers();
});

ui.messageForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const text = ui.messageText.value;
  if (text.trim() === '') {
    note(ui.messageMsg, () => t('message.empty'), { error: true });
    return;
  }
  const resp = await send('message', { text }, ui.messageMsg);
  if (!resp) return;
  ui.messageText.value = '';
  if (state.session) state.session.remaining = resp.remaining;
  else state.session = { host: '', maxCount: null, remaining: resp.remaining };
  const group = resp.group ?? state.group;
  feed.add({ kind: 'mine', who: () => t('feed.youToGroup', { group }), text, meta: () => words.messageLine(resp) });
  showSession();
});

ui.directForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const to = checkCampId(ui.directTo.value);
  const text = ui.directText.value;
  if (!to.ok) {
    note(ui.directMsg, () => t('direct.toWhom', { why: checkCampId(ui.directTo.value).message }), { error: true });
    ui.directTo.focus();
    return;
  }
  if (text.trim() === '') {
    note(ui.directMsg, () => t('direct.empty'), { error: true });
    ui.directText.focus();
    return;
  }
  const resp = await send('direct', { campId: to.value, text }, ui.directMsg);
  if (!resp) return;
  ui.directText.value = '';
  rememberDirect(state.campId, text);
  const whom = resp.to ?? to.value;
  feed.add({ kind: 'mine', who: () => t('feed.youTo', { to: whom }), text, meta: words.directLine });
});

// An error under a form goes once the camper changes what it complained of.
for (const [form, msg] of [
  [ui.missionForm, ui.missionMsg],
  [ui.sessionForm, ui.sessionMsg],
  [ui.messageForm, ui.messageMsg],
  [ui.directForm, ui.directMsg],
]) {
  form.addEventListener('input', () => {
    if (msg.classList.contains('form-msg--error')) note(msg, '');
  });
}

/** pickMember makes id the target of the next direct. */
function pickMember(id) {
  if (NARROW.matches) openPanel(''); // the direct box in sight on a phone
  ui.directTo.value = id;
  note(ui.directMsg, '');
  ui.directText.focus();
}

// ---- events ---------------------------------------------------------------

function onEvent(type, body) {
  if (type === 'shutdown') state.closeNote = () => words.shutdownLine(body.reason);
  track(type, body);
  showEvent(type, body, {});
  if (type === 'kicked') {
    // Staff checked the camper out: the server closes the socket, and the
    // page does not come back by itself (PROTOCOL §12).
    conn.stop();
    conn.drop();
    state.campId = '';
    leaveCamp();
    note(ui.checkinMsg, () => words.describeEvent(type, body));
    return;
  }
  showMembers();
  showSession();
}

/**
 * track updates the members, the session and the last offset from an
 * event, live or from history (history does not change the members: the
 * checkin response listed them as they are now).
 */
function track(type, body, { live = true } = {}) {
  // A redaction names a message by its offset and takes none of its own.
  if (type === 'redacted') return;
  if (GROUP_EVENTS.has(type)) {
    state.lastKey = eventKey(type, body);
    if (live) state.directsSince = [];
  }
  if (typeof body.offset === 'number' && (body.group === undefined || body.group === state.group)) {
    state.lastOffset = Math.max(state.lastOffset ?? 0, body.offset);
    if (typeof body.epoch === 'string') state.epoch = body.epoch;
    if (live) state.arriving?.offsets.add(body.offset);
  }
  switch (type) {
    case 'join':
      if (live && Array.isArray(body.members)) state.members = body.members;
      else if (live && !state.members.includes(body.campId)) state.members = [...state.members, body.campId];
      break;
    case 'checkout':
      if (live) state.members = state.members.filter((id) => id !== body.campId);
      break;
    case 'peersession':
      state.session = { host: body.host, maxCount: body.maxCount, remaining: body.maxCount };
      break;
    case 'message':
      if (state.session) state.session.remaining = body.remaining;
      else state.session = { host: '', maxCount: null, remaining: body.remaining };
      break;
    case 'complete':
      state.session = null;
      break;
    case 'direct':
      if (live) rememberDirect(body.from, body.text);
      if (live) state.arriving?.directs.push({ from: body.from, text: body.text });
      break;
  }
}

/** rememberDirect notes a direct for shownAlready; the list is kept short for a camper who gets directs only. */
function rememberDirect(from, text) {
  state.directsSince.push({ from, text });
  if (state.directsSince.length > 100) state.directsSince.shift();
}

function showEvent(type, body, { earlier = false, before = null }) {
  switch (type) {
    case 'message':
      feed.add({
        kind: 'chat',
        who: () => t('feed.messageFrom', { from: body.from }),
        text: body.redacted ? () => t('feed.redactedText', { by: body.redactedBy ?? '' }) : body.text,
        meta: () => t('feed.messageMeta', { seq: body.seq, remaining: body.remaining }),
        earlier,
        before,
      });
      break;
    case 'direct': {
      const mine = body.from === state.campId;
      const who = mine
        ? () => t('feed.youTo', { to: body.to })
        : body.to && body.to !== state.campId
          ? () => t('feed.directFromTo', { from: body.from, to: body.to })
          : () => t('feed.directFrom', { from: body.from });
      feed.add({ kind: mine ? 'mine' : 'direct', who, text: body.text, earlier, before });
      break;
    }
    case 'shutdown':
      feed.add({ kind: 'system', text: () => t('event.shutdownBack', { line: words.describeEvent(type, body) }), earlier, before });
      break;
    default:
      feed.add({ kind: 'event', text: () => words.describeEvent(type, body, true), earlier, before });
  }
}

/** learnFromError corrects what the page believes of the session from an error code. */
function learnFromError(command, code) {
  if (code === 'no-session') state.session = null;
  if (code === 'session-active' && !state.session) state.session = { host: '', maxCount: null, remaining: null };
  if (code === 'limit-reached' && state.session) state.session.remaining = 0;
  if (code === 'not-checked-in' && state.inCamp) {
    // The server let the camper go (a node of a cluster lost it): check in again.
    conn.drop(1000, 'check in again');
  }
  showSession();
  showMembers();
}

// ---- the camp's nodes (PROTOCOL §11) ---------------------------------------

/** learnNodes takes the checkin's "nodes": the page may come back at any of their sockets. */
function learnNodes(nodes) {
  if (!Array.isArray(nodes)) return;
  const urls = [];
  for (const n of nodes) {
    const url = typeof n?.web === 'string' ? socketURLOf(n.web) : '';
    if (url === '') continue;
    urls.push(url);
    if (typeof n.name === 'string' && n.name !== '') state.nodeNames.set(url, n.name);
  }
  conn.learn(urls);
}

/** nodeName names a node for the camper: "n2 (ws://10.0.0.2:8080/ws)", or its address. */
function nodeName(url) {
  const name = state.nodeNames.get(url);
  return name ? `${name} (${url})` : url;
}

/** electionNotice says in the status line that a request waits for the camp's election. */
function electionNotice({ delayMs }) {
  state.electing = true;
  status(ui.status, 'connecting', () => t('status.electing', { wait: words.formatSeconds(delayMs) }));
}

function endElectionNotice() {
  if (!state.electing) return;
  state.electing = false;
  if (conn.isOpen) status(ui.status, 'up', () => t('status.connected'));
}

// ---- panels ---------------------------------------------------------------

function showMembers() {
  renderMembers(ui.members, ui.memberIds, {
    members: state.members,
    me: state.campId,
    host: state.session?.host ?? '',
    onPick: pickMember,
  });
  showGroup();
}

/**
 * showSession shows the session and the controls that apply to it: "Start
 * session" while none runs, "Complete session" to its host while it runs
 * (and to anyone while the page does not know who hosts it).
 */
function showSession() {
  const s = state.session;
  const amHost = s !== null && s.host === state.campId;
  ui.sessionForm.hidden = s !== null;
  ui.complete.hidden = s === null || (s.host !== '' && !amHost);
  ui.complete.classList.toggle('button--primary', amHost);
  ui.messageText.placeholder = t(s === null ? 'message.placeholderNoSession' : 'message.placeholder');
  ui.foldSession.textContent = t('fold.session', { running: s !== null, left: s?.remaining ?? null });
  if (s === null) {
    ui.sessionState.textContent = t('session.none');
    ui.remaining.textContent = '';
    return;
  }
  const host = amHost ? t('session.youHost') : s.host ? t('session.hosts', { host: s.host }) : t('session.running');
  const left = s.remaining === null ? '' : t('session.left', { left: s.remaining, max: s.maxCount });
  ui.sessionState.textContent = host + left + (lang() === 'ko' ? '' : '.');
  ui.remaining.textContent = s.remaining === null ? '' : t('message.left', { left: s.remaining });
}

/** showGroup writes the camper's group in the header, the group card and the fold bar. */
function showGroup() {
  const inGroup = state.group > 0;
  ui.meGroup.textContent = inGroup ? t('me.group', { group: state.group }) : '';
  ui.groupTitle.textContent = inGroup ? t('group.titleN', { group: state.group }) : t('group.title');
  ui.foldGroup.textContent = t('fold.group', { group: state.group, count: state.members.length });
}

// ---- the phone layout ------------------------------------------------------

/**
 * openPanel opens one card of the side on a narrow screen (the fold bar's
 * buttons; id '' closes them all). A wide screen shows them all anyway.
 */
function openPanel(id) {
  ui.side.dataset.open = id;
  for (const b of ui.foldBar.querySelectorAll('[data-panel]')) b.setAttribute('aria-expanded', String(b.dataset.panel === id));
}

ui.foldBar.addEventListener('click', (e) => {
  const b = e.target.closest('[data-panel]');
  if (!b) return;
  openPanel(ui.side.dataset.open === b.dataset.panel ? '' : b.dataset.panel);
});

/** goToStartSession takes the camper to the "Start session" control, opening its card on a phone. */
function goToStartSession() {
  if (NARROW.matches) openPanel('session-card');
  ui.maxCount.scrollIntoView({ block: 'nearest' });
  ui.maxCount.focus();
  ui.maxCount.select();
}

// ---- the language ----------------------------------------------------------

function storedLang() {
  try {
    return localStorage.getItem(REMEMBERED_LANG) ?? '';
  } catch {
    return '';
  }
}

/** showLang writes the page in the language shown: html lang, the static words, and all the page wrote. */
function showLang() {
  document.documentElement.lang = lang();
  applyStatic(document);
  for (const b of ui.langButtons) b.setAttribute('aria-pressed', String(b.dataset.lang === lang()));
  showCampIdCheck(ui.campId.getAttribute('aria-invalid') === 'true');
  relabel();
  showGroup();
  showMembers();
  showSession();
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

showLang();
status(ui.status, 'connecting', () => t('status.connecting'));
conn.start();
