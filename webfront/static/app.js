// campbus in the browser: check in, see the group, talk in peer sessions,
// send directs, look up missions. Served by `campbus serve` at GET / and
// speaking PROTOCOL §8 (JSON over the WebSocket at /ws). Plain ES modules,
// no build step and nothing from the network but the campbus server:
//
//   app.js         this file: the camper's state, and what each form,
//                  response and event does to it and to the page
//   connection.js  the WebSocket: requests matched to responses by id,
//                  events, reconnects with capped exponential backoff
//   words.js       the lines shown for responses, events and closes, worded
//                  as the CLI words them (cmd/campbus/display.go)
//   hints.js       what to do about each error code: a copy of the CLI's
//                  hintFor (cmd/campbus/display_hints.go)
//   campid.js      the campId field's check as the camper types
//   view.js        DOM: the feed (an ARIA log), the member list, form notes,
//                  the connection status

import { Connection, ConnectionLost, socketURL, socketURLOf } from './connection.js';
import { checkCampId } from './campid.js';
import { hintFor } from './hints.js';
import { Feed, note, renderMembers, status } from './view.js';
import * as words from './words.js';

/** Request bodies travel under the server's limit of 1024 bytes (PROTOCOL §1). */
const MAX_BODY_BYTES = 1024;
/** How many stored events to show on opening (after the first checkin). */
const HISTORY_LIMIT = 50;
/** Checkin errors that a new try can get past; others need the camper. */
const RETRYABLE_CHECKIN = new Set(['camp-id-in-use', 'shutting-down', 'rate-limited', 'internal', 'too-many-connections', 'unavailable']);
const REMEMBERED_ID = 'campbus.campId';

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
  compose: $('compose'),
  groupTitle: $('group-title'),
  members: $('members'),
  memberIds: $('member-ids'),
  sessionState: $('session-state'),
  sessionForm: $('session-form'),
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
  closeWhy: '', // why the last socket closed, in words
  closeNote: '', // why the open socket is about to close, when the page knows first
  checkingIn: false,
  lostURL: '', // the socket address of the node a checked-in camper lost
  toldInUse: false, // the wait for the camp to release the campId was told
  nodeNames: new Map(), // socket address → node name, from the checkin's nodes
  electing: false, // the status line says the camp is electing a leader
};

// ---- the connection -------------------------------------------------------

conn.addEventListener('open', () => {
  ui.retryNow.hidden = true;
  status(ui.status, 'up', 'Connected');
  state.closeNote = '';
  if (state.campId) checkIn(state.campId, state.token, { again: state.droppedAt !== 0 });
});

conn.addEventListener('close', ({ detail }) => {
  const wasIn = state.inCamp;
  state.inCamp = false;
  if (!conn.isWanted) {
    status(ui.status, 'off', 'Checked out, not connected');
    return;
  }
  if (state.closeNote) state.closeWhy = state.closeNote;
  else if (detail.opened) state.closeWhy = words.closeExplanation(detail.code, detail.reason);
  else state.closeWhy = 'cannot reach the server';
  state.closeNote = '';
  if (wasIn) {
    state.droppedAt = Date.now();
    state.lostURL = detail.url;
    state.toldInUse = false;
    feed.add({ kind: 'system', text: `connection lost: ${state.closeWhy}; reconnecting as ${state.campId}…` });
  }
});

conn.addEventListener('retry', ({ detail }) => {
  const why = state.closeWhy || 'not connected';
  status(ui.status, 'down', `${capitalise(why)}. Trying again in ${words.formatSeconds(detail.delayMs)}…`);
  ui.retryNow.hidden = false;
});

conn.addEventListener('event', ({ detail }) => onEvent(detail.type, detail.body));

// A response that answers no request: too-many-connections, sent as a
// socket opens, or malformed, when the server could not read the id.
conn.addEventListener('stray', ({ detail }) => {
  const body = detail.message.body ?? {};
  const text = `the server says: ${words.printable(body.error ?? JSON.stringify(detail.message))}`;
  const hint = body.code === 'too-many-connections' ? 'the server is full; the page tries again by itself' : '';
  if (state.inCamp) feed.add({ kind: 'error', text, meta: hint });
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
    note(ui.checkinMsg, 'Connecting to the server…');
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
    if (!again) note(ui.checkinMsg, 'Not connected yet: you are checked in once the server answers.');
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
        ? `the camp still holds ${campId} for the lost connection (it lets go a few seconds after the loss)`
        : `checkin failed: ${words.printable(error)}`;
      if (inUse && !state.toldInUse) {
        // The node is up: wait there until the camp releases the campId.
        state.toldInUse = true;
        feed.add({ kind: 'system', text: `${campId} is still held for the lost connection; waiting for the camp to let it go, then checking in again` });
      }
      conn.drop(1000, 'checkin again later', { stay: inUse });
      return;
    }
    state.campId = '';
    if (again) leaveCamp();
    note(ui.checkinMsg, words.failedLine('checkin', error), { error: true, hint: hintFor('checkin', body, code) });
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
  ui.meGroup.textContent = `group#${state.group}`;
  ui.groupTitle.textContent = `Group #${state.group}`;
  status(ui.status, 'up', 'Connected');

  const now = feed.mark('now'); // history goes in above it
  if (again) {
    const away = words.formatSeconds(Date.now() - state.droppedAt);
    const moved = state.lostURL !== '' && conn.url !== state.lostURL;
    feed.add({ kind: 'system', text: moved ? `reconnected to ${nodeName(conn.url)} after ${away}` : `reconnected after ${away}` });
    state.droppedAt = 0;
    state.lostURL = '';
  }
  if (!sameGroup) feed.add({ kind: 'result', text: words.checkinLine(body) });
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
      feed.add({ kind: 'error', text: words.failedLine('history', err.message), meta: err.hint && 'hint: ' + err.hint, before: now });
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
    else feed.mark(restarted ? "the camp's log was started anew: nothing in the new one yet" : 'no earlier events', now);
  } else {
    const noun = events.length === 1 ? 'event' : 'events';
    const title = restarted
      ? `the camp's log was started anew: the latest ${events.length} ${noun} of the new one`
      : catchUp ? `missed while away: ${events.length} ${noun}` : `earlier: the last ${events.length} ${noun}`;
    feed.mark(title, now);
    ui.feed.setAttribute('aria-busy', 'true'); // one announcement, not fifty
    for (const ev of events) {
      const { type, ...evBody } = ev;
      track(type, evBody, { live: false });
      showEvent(type, evBody, { earlier: true, before: now });
    }
    ui.feed.setAttribute('aria-busy', 'false');
  }
  if (trimmed) {
    feed.add({ kind: 'system', text: 'some events are no longer stored and are not shown', before: now });
  }
  if (restarted) {
    feed.add({ kind: 'system', text: "the camp's log was started anew while you were away: the events before it are gone", before: now });
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
    this.hint = hintFor('history', request, this.code);
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

const GROUP_EVENTS = new Set(['join', 'checkout', 'peersession', 'message', 'complete']);

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
  const [line, active] = words.checkoutLines(resp);
  feed.add({ kind: 'result', text: `${line}, ${active}` });
  state.campId = '';
  leaveCamp();
  note(ui.checkinMsg, `Checked out: ${active}. Check in again whenever you like.`);
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
  const tell = (text, options) => {
    if (target) note(target, text, options);
    else if (text) feed.add({ kind: 'error', text, meta: options?.hint ? 'hint: ' + options.hint : '' });
  };
  const size = new TextEncoder().encode(JSON.stringify(body)).length;
  if (size > MAX_BODY_BYTES) {
    tell(`Too long to send: ${size} bytes, and the server takes ${MAX_BODY_BYTES}.`, {
      error: true,
      hint: 'a Korean letter takes 3 bytes and an emoji 4; shorten it or split it in two',
    });
    return null;
  }
  if (!state.inCamp) {
    tell(`Not sent: ${state.campId ? 'reconnecting' : 'not checked in'}. What you typed stays here.`, { error: true });
    return null;
  }
  let resp;
  try {
    resp = await conn.ask(command, body, { onRetry: electionNotice });
  } catch (err) {
    if (!(err instanceof ConnectionLost)) throw err;
    tell(`${command}: the connection dropped before the answer; it may not have gone through.`, { error: true });
    return null;
  }
  endElectionNotice();
  if (resp.status === 200) {
    tell('');
    return resp.body;
  }
  const { code = '', error = `status ${resp.status}` } = resp.body;
  learnFromError(command, code);
  tell(words.failedLine(command, error), { error: true, hint: hintFor(command, body, code) });
  return null;
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
  if (resp) note(ui.missionMsg, `Day ${resp.day}: ${words.missionLine(resp)}`);
});

ui.sessionForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const resp = await send('peersession', { maxCount: intOrText(ui.maxCount.value) }, ui.sessionMsg);
  if (!resp) return;
  state.session = { host: resp.host ?? state.campId, maxCount: resp.maxCount, remaining: resp.maxCount };
  feed.add({ kind: 'result', text: words.peerSessionLine(resp) });
  showSession();
  showMembers();
  ui.messageText.focus();
});

ui.complete.addEventListener('click', async () => {
  const resp = await send('complete', {}, ui.sessionMsg);
  if (!resp) return;
  state.session = null;
  feed.add({ kind: 'result', text: words.completeLine(resp) });
  showSession();
  showMembers();
});

ui.messageForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const text = ui.messageText.value;
  if (text.trim() === '') {
    note(ui.messageMsg, 'Type a message first.', { error: true });
    return;
  }
  const resp = await send('message', { text }, ui.messageMsg);
  if (!resp) return;
  ui.messageText.value = '';
  if (state.session) state.session.remaining = resp.remaining;
  else state.session = { host: '', maxCount: null, remaining: resp.remaining };
  feed.add({ kind: 'mine', who: `you to group#${resp.group ?? state.group}`, text, meta: words.messageLine(resp) });
  showSession();
});

ui.directForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const to = checkCampId(ui.directTo.value);
  const text = ui.directText.value;
  if (!to.ok) {
    note(ui.directMsg, `To whom? ${to.message}`, { error: true });
    ui.directTo.focus();
    return;
  }
  if (text.trim() === '') {
    note(ui.directMsg, 'Type the direct first.', { error: true });
    ui.directText.focus();
    return;
  }
  const resp = await send('direct', { campId: to.value, text }, ui.directMsg);
  if (!resp) return;
  ui.directText.value = '';
  rememberDirect(state.campId, text);
  feed.add({ kind: 'mine', who: `you to ${resp.to ?? to.value}`, text, meta: words.directLine });
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
  ui.directTo.value = id;
  note(ui.directMsg, '');
  ui.directText.focus();
}

// ---- events ---------------------------------------------------------------

function onEvent(type, body) {
  if (type === 'shutdown') state.closeNote = words.shutdownLine(body.reason);
  track(type, body);
  showEvent(type, body, {});
  showMembers();
  showSession();
}

/**
 * track updates the members, the session and the last offset from an
 * event, live or from history (history does not change the members: the
 * checkin response listed them as they are now).
 */
function track(type, body, { live = true } = {}) {
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
      feed.add({ kind: 'chat', who: `message from ${body.from}`, text: body.text, meta: `seq ${body.seq}, ${body.remaining} remaining`, earlier, before });
      break;
    case 'direct': {
      const mine = body.from === state.campId;
      const who = mine ? `you to ${body.to}` : body.to && body.to !== state.campId ? `direct from ${body.from} to ${body.to}` : `direct from ${body.from}`;
      feed.add({ kind: mine ? 'mine' : 'direct', who, text: body.text, earlier, before });
      break;
    }
    case 'shutdown':
      feed.add({ kind: 'system', text: words.describeEvent(type, body) + '; reconnecting when it is back', earlier, before });
      break;
    default:
      feed.add({ kind: 'event', text: words.describeEvent(type, body, true), earlier, before });
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
  status(ui.status, 'connecting', `The camp is electing a leader after losing a node; trying again in ${words.formatSeconds(delayMs)}…`);
}

function endElectionNotice() {
  if (!state.electing) return;
  state.electing = false;
  if (conn.isOpen) status(ui.status, 'up', 'Connected');
}

// ---- panels ---------------------------------------------------------------

function showMembers() {
  renderMembers(ui.members, ui.memberIds, {
    members: state.members,
    me: state.campId,
    host: state.session?.host ?? '',
    onPick: pickMember,
  });
}

function showSession() {
  const s = state.session;
  const amHost = s !== null && s.host === state.campId;
  ui.complete.hidden = s !== null && s.host !== '' && !amHost;
  ui.complete.classList.toggle('button--primary', amHost);
  if (s === null) {
    ui.sessionState.textContent = 'No session running. Start one to talk in the group.';
    ui.remaining.textContent = '';
    return;
  }
  const host = amHost ? 'You host a session' : s.host ? `${s.host} hosts a session` : 'A session is running';
  const left = s.remaining === null ? '' : `: ${words.countMessages(s.remaining)} left` + (s.maxCount ? ` of ${s.maxCount}` : '');
  ui.sessionState.textContent = host + left + '.';
  ui.remaining.textContent = s.remaining === null ? '' : `(${s.remaining} left)`;
}

function capitalise(s) {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

status(ui.status, 'connecting', 'Connecting…');
conn.start();
