// The WebSocket to campbus (PROTOCOL §8): requests matched to responses by
// id, events passed on, and a new socket after a drop, after a capped
// exponential wait with jitter. It knows nothing of campers or the page.

/** The first wait before reconnecting, doubled per failed try up to the cap. */
export const BACKOFF_FIRST_MS = 500;
export const BACKOFF_MAX_MS = 30_000;
/** A request with no response in this time counts as a dead connection. */
export const REQUEST_TIMEOUT_MS = 15_000;
/** Close code the page uses when the server stopped answering. */
export const CLOSE_NO_ANSWER = 4000;

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

/** ConnectionLost rejects the requests that were waiting when a socket closed. */
export class ConnectionLost extends Error {
  constructor(explanation) {
    super(explanation);
    this.name = 'ConnectionLost';
  }
}

/**
 * Connection keeps one socket open while it is wanted. It dispatches:
 *   open                  a socket is open
 *   close  {code, reason, opened}   a socket closed (opened: it had been open)
 *   retry  {delayMs}      the next try is scheduled
 *   event  {type, body}   a server event
 *   stray  {message}      a response that matches no request
 */
export class Connection extends EventTarget {
  #url;
  #socket = null;
  #wanted = false;
  #attempt = 0;
  #retryTimer = 0;
  #nextId = 0;
  #pending = new Map(); // id → {command, resolve, reject, timer}

  constructor(url) {
    super();
    this.#url = url;
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

  /** drop closes the socket so that a new one is tried after the usual wait. */
  drop(code = 1000, reason = '') {
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

  #open() {
    let socket;
    try {
      socket = new WebSocket(this.#url);
    } catch (err) {
      // Only a bad URL throws; nothing to retry.
      this.#emit('close', { code: 1006, reason: String(err), opened: false });
      return;
    }
    this.#socket = socket;
    let opened = false;
    socket.addEventListener('open', () => {
      opened = true;
      this.#emit('open');
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
      this.#emit('close', { code: e.code, reason: e.reason, opened });
      if (this.#wanted) this.#scheduleRetry();
    });
  }

  #scheduleRetry() {
    const delayMs = backoffDelay(this.#attempt++);
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
