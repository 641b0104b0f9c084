// The WebSocket to campbus (PROTOCOL §8): requests matched to responses by
// id, events passed on, and a new socket after a drop, after a capped
// exponential wait with jitter, to the next of the camp's nodes it knows
// (PROTOCOL §11). Requests answered 503 unavailable while the camp elects a
// leader are sent again by ask. It knows nothing of campers or the page.

/** The first wait before reconnecting, doubled per failed try up to the cap. */
export const BACKOFF_FIRST_MS = 500;
export const BACKOFF_MAX_MS = 30_000;
/** A request with no response in this time counts as a dead connection. */
export const REQUEST_TIMEOUT_MS = 15_000;
/** Close code the page uses when the server stopped answering. */
export const CLOSE_NO_ANSWER = 4000;
/** How long ask keeps sending a request again while the camp elects a leader. */
export const ELECTION_BUDGET_MS = 30_000;
/** The most backoff steps while waiting on a node that is up (drop with stay). */
const STAY_ATTEMPTS = 2;

/**
 * backoffDelay is the wait before reconnect try number attempt (0 first):
 * 0.5 s doubling up to 30 s, of which a random half is taken off ("equal
 * jitter"), so that a camp's browsers do not all come back in the same
 * instant after a restart.
 */
export function backoffDelay(attempt, random = Math.random) {
  const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** attempt);
  return cap / 2 + (random() * cap) / 2;
}

/** socketURL is the WebSocket address of the server that served the page. */
export function socketURL(loc = window.location) {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc.host}/ws`;
}

/**
 * socketURLOf is the WebSocket address of a node from its base URL, as the
 * checkin's "nodes" give it: http→ws, https→wss, path /ws. It returns ''
 * for a URL it cannot read.
 */
export function socketURLOf(base) {
  let url;
  try {
    url = new URL(base);
  } catch {
    return '';
  }
  const scheme = { 'http:': 'ws:', 'https:': 'wss:', 'ws:': 'ws:', 'wss:': 'wss:' }[url.protocol];
  return scheme ? `${scheme}//${url.host}/ws` : '';
}

/**
 * REPEATABLE are the commands that do, sent twice, what they do sent once
 * (PROTOCOL §11): only these are sent again after 503 unavailable. A
 * message or a direct answered 503 may have been stored, and sent again
 * would count twice.
 */
export const REPEATABLE = new Set(['checkin', 'checkout', 'mission', 'history', 'staff', 'board', 'mute', 'kick', 'redact', 'revoke']);

/** electing tells a response of a camp electing a leader: 503 unavailable (PROTOCOL §11). */
export function electing(resp) {
  return resp.status === 503 && resp.body?.code === 'unavailable';
}

/** retryAfterMs is the wait a 503 unavailable asks for: its retryAfter seconds, at least 1. */
export function retryAfterMs(resp) {
  const secs = Number(resp.body?.retryAfter);
  return Math.max(1, Number.isFinite(secs) ? secs : 1) * 1000;
}

/** ConnectionLost rejects the requests that were waiting when a socket closed. */
export class ConnectionLost extends Error {
  constructor(explanation) {
    super(explanation);
    this.name = 'ConnectionLost';
  }
}

/**
 * Connection keeps one socket open while it is wanted, to one of the
 * camp's nodes: the URL it was made with first, then those learned, each
 * new socket after a drop to the next of them. It dispatches:
 *   open   {url}          a socket is open
 *   close  {code, reason, opened, url}   a socket closed (opened: it had been open)
 *   retry  {delayMs}      the next try is scheduled
 *   event  {type, body}   a server event
 *   stray  {message}      a response that matches no request
 */
export class Connection extends EventTarget {
  #given;
  #learned = [];
  #at = 0; // index in urls of the socket's URL
  #stay = false; // the next socket goes to the same URL
  #socket = null;
  #wanted = false;
  #attempt = 0;
  #retryTimer = 0;
  #nextId = 0;
  #pending = new Map(); // id → {command, resolve, reject, timer}

  constructor(url) {
    super();
    this.#given = Array.isArray(url) ? [...url] : [url];
  }

  /** urls are the addresses tried in turn: those given, then those learned. */
  get urls() {
    return [...this.#given, ...this.#learned.filter((u) => !this.#given.includes(u))];
  }

  /** url is the address of the current socket, or of the next one tried. */
  get url() {
    return this.urls[this.#at];
  }

  /**
   * learn takes the WebSocket addresses of the camp's live nodes; they
   * replace those learned before, and the current address stays current.
   * An empty list (a node alone) forgets nothing.
   */
  learn(urls) {
    const known = urls.filter((u) => typeof u === 'string' && u !== '');
    if (known.length === 0) return;
    const current = this.url;
    this.#learned = [...new Set(known)];
    if (!this.urls.includes(current)) this.#learned.push(current);
    this.#at = this.urls.indexOf(current);
  }

  /** isWanted is true from start until stop. */
  get isWanted() {
    return this.#wanted;
  }

  get isOpen() {
    return this.#socket !== null && this.#socket.readyState === WebSocket.OPEN;
  }

  /** start opens a socket and keeps one open until stop. */
  start() {
    this.#wanted = true;
    if (this.#socket === null && this.#retryTimer === 0) this.#open();
  }

  /** stop lets the current socket end (the server closes it after checkout) and opens no other. */
  stop() {
    this.#wanted = false;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = 0;
  }

  /** retryNow skips the wait before the next try. */
  retryNow() {
    if (!this.#wanted || this.#retryTimer === 0) return;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = 0;
    this.#open();
  }

  /** healthy resets the wait: the socket did what it was for (a checkin went through). */
  healthy() {
    this.#attempt = 0;
  }

  /**
   * drop closes the socket so that a new one is tried after the usual wait,
   * at the next address; with stay, at the same one again (a node that is
   * up but cannot take the camper yet), after at most a short wait.
   */
  drop(code = 1000, reason = '', { stay = false } = {}) {
    this.#stay = stay;
    this.#socket?.close(code, reason);
  }

  /**
   * request sends command with body and resolves to the response,
   * {status, body}, whatever its status. It rejects with ConnectionLost when
   * there is no open socket or it closes before the response.
   */
  request(command, body = {}) {
    if (!this.isOpen) return Promise.reject(new ConnectionLost('not connected'));
    const id = String(++this.#nextId);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // Responses keep request order, so the socket is stuck or dead.
        this.drop(CLOSE_NO_ANSWER, 'no answer');
      }, REQUEST_TIMEOUT_MS);
      this.#pending.set(id, { command, resolve, reject, timer });
      this.#socket.send(JSON.stringify({ id, command, body }));
    });
  }

  /**
   * ask is request, but while the camp elects a leader (503 unavailable)
   * it waits the retryAfter the server asks for and sends a REPEATABLE
   * request again, calling onRetry({command, attempt, delayMs}) before each wait,
   * for up to budgetMs in all; then it resolves to the last 503.
   */
  async ask(command, body = {}, { onRetry = () => {}, budgetMs = ELECTION_BUDGET_MS, sleep = delay } = {}) {
    const began = Date.now();
    for (let attempt = 1; ; attempt++) {
      const resp = await this.request(command, body);
      if (!electing(resp) || !REPEATABLE.has(command)) return resp;
      const delayMs = retryAfterMs(resp);
      if (Date.now() - began + delayMs > budgetMs) return resp;
      onRetry({ command, attempt, delayMs });
      await sleep(delayMs);
    }
  }

  #open() {
    let socket;
    try {
      socket = new WebSocket(this.url);
    } catch (err) {
      // Only a bad URL throws: nothing to retry there, but maybe at another node.
      this.#emit('close', { code: 1006, reason: String(err), opened: false, url: this.url });
      if (this.#wanted && this.urls.length > 1) this.#scheduleRetry();
      return;
    }
    this.#socket = socket;
    let opened = false;
    socket.addEventListener('open', () => {
      opened = true;
      this.#emit('open', { url: this.url });
    });
    socket.addEventListener('message', (e) => this.#receive(e.data));
    socket.addEventListener('close', (e) => {
      this.#socket = null;
      const lost = new ConnectionLost('connection lost');
      for (const p of this.#pending.values()) {
        clearTimeout(p.timer);
        p.reject(lost);
      }
      this.#pending.clear();
      this.#emit('close', { code: e.code, reason: e.reason, opened, url: this.url });
      if (this.#wanted) this.#scheduleRetry();
    });
  }

  #scheduleRetry() {
    const attempt = this.#attempt++;
    const delayMs = backoffDelay(this.#stay ? Math.min(attempt, STAY_ATTEMPTS) : attempt);
    if (!this.#stay) this.#at = (this.#at + 1) % this.urls.length;
    this.#stay = false;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = 0;
      if (this.#wanted) this.#open();
    }, delayMs);
    this.#emit('retry', { delayMs });
  }

  #receive(data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      console.warn('campbus: a message that is not JSON', data);
      return;
    }
    if (message === null || typeof message !== 'object') return;
    if (typeof message.event === 'string') {
      this.#emit('event', { type: message.event, body: message.body ?? {} });
      return;
    }
    const id = message.id === undefined || message.id === null ? '' : String(message.id);
    const p = this.#pending.get(id);
    if (!p) {
      // A malformed-frame answer carries no id: the server could not read one.
      this.#emit('stray', { message });
      return;
    }
    this.#pending.delete(id);
    clearTimeout(p.timer);
    p.resolve({ status: Number(message.status), body: message.body ?? {} });
  }

  #emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
