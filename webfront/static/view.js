// The DOM side of the page: the feed of what happened, the member list, the
// notes under forms and the connection status. Text from the server always
// goes in as text (textContent), never as markup.

import { printable } from './words.js';

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * Feed is the list of events, results and notes, newest last. It is an ARIA
 * log, so screen readers read what is added. Entries added by `earlier`
 * come from history and are marked so, in words as well as in colour.
 */
export class Feed {
  #list;

  constructor(list) {
    this.#list = list;
  }

  /**
   * add appends an entry. kind styles it: event, result, system, error,
   * chat (who and text), mine (chat the camper sent). before puts it in front
   * of that entry instead.
   */
  add({ kind = 'event', text = '', who = '', meta = '', earlier = false, before = null }) {
    const item = el('li', `entry entry--${kind}` + (earlier ? ' entry--earlier' : ''));
    if (earlier) {
      item.append(el('span', 'tag', 'earlier'));
    } else {
      const now = new Date();
      const time = el('time', 'when', timeFormat.format(now));
      time.dateTime = now.toISOString();
      item.append(time);
    }
    if (who) {
      item.append(el('span', 'who', who + ':'), ' ');
      const body = el('bdi', 'text', printable(text)); // isolated: a right-to-left text cannot flip the line
      item.append(body);
    } else {
      item.append(el('span', 'text', text));
    }
    if (meta) item.append(' ', el('span', 'meta', meta));
    this.#insert(item, before);
    return item;
  }

  /** mark adds a dividing line that says what follows (history, now). */
  mark(text, before = null) {
    const item = el('li', 'divider', text);
    this.#insert(item, before);
    return item;
  }

  #insert(item, before) {
    const list = this.#list;
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 48;
    if (before && before.parentNode === list) list.insertBefore(item, before);
    else list.append(item);
    if (atBottom) list.scrollTop = list.scrollHeight;
  }
}

/**
 * renderMembers fills the member list: the camper itself, and a button per
 * other member that picks them as the target of a direct.
 */
export function renderMembers(list, options, { members, me, host, onPick }) {
  list.replaceChildren();
  options.replaceChildren();
  for (const id of members) {
    const item = el('li', 'member');
    if (id === me) {
      item.append(el('span', 'member-id', id), ' ', el('span', 'badge', 'you'));
    } else {
      const pick = el('button', 'member-id', id);
      pick.type = 'button';
      pick.setAttribute('aria-label', `Send a direct to ${id}`);
      pick.addEventListener('click', () => onPick(id));
      item.append(pick);
      options.append(new Option(id));
    }
    if (id === host) item.append(' ', el('span', 'badge badge--host', 'host'));
    list.append(item);
  }
}

/** note writes under a form: a plain line, or an error with its hint. */
export function note(target, text, { error = false, hint = '' } = {}) {
  target.replaceChildren();
  target.classList.toggle('form-msg--error', error);
  if (!text) return;
  target.append(el('span', '', text));
  if (hint) target.append(el('span', 'hint', 'hint: ' + hint));
}

/** status shows the connection's state in the header: up, down, connecting or off. */
export function status(target, state, text) {
  target.dataset.state = state;
  target.textContent = text;
}
