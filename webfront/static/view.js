// The DOM side of the page: the feed of what happened, the member list, the
// notes under forms and the connection status. Text from the server always
// goes in as text (textContent), never as markup.
//
// Words the page writes may be given as functions (() => string): they are
// then written again in the new language by relabel() when the camper
// switches. Campers' words are given as they are and stay so.

import { printable } from './words.js';
import { lang, t } from './i18n.js';

/** Elements to write again on a switch of language, with how. */
const relabels = new Map();

const say = (w) => (typeof w === 'function' ? w() : w ?? '');

/** relabel writes again every element that keeps words of the page's own. */
export function relabel() {
  for (const [node, render] of relabels) {
    if (node.isConnected) render();
    else relabels.delete(node);
  }
}

/**
 * applyStatic writes the words of index.html in the language shown: an
 * element's data-i18n is the key of its text, data-i18n-placeholder of its
 * placeholder, data-i18n-aria-label of its aria-label.
 */
export function applyStatic(root) {
  for (const node of root.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll('[data-i18n-placeholder]')) node.placeholder = t(node.dataset.i18nPlaceholder);
  for (const node of root.querySelectorAll('[data-i18n-aria-label]')) node.setAttribute('aria-label', t(node.dataset.i18nAriaLabel));
}

/** The time of an entry, as the language shown writes it. */
const timeFormats = new Map();
function formatTime(date) {
  const l = lang();
  if (!timeFormats.has(l)) timeFormats.set(l, new Intl.DateTimeFormat(l, { hour: '2-digit', minute: '2-digit' }));
  return timeFormats.get(l).format(date);
}

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
    const now = new Date();
    const render = () => {
      item.replaceChildren();
      if (earlier) {
        item.append(el('span', 'tag', t('feed.earlier')));
      } else {
        const time = el('time', 'when', formatTime(now));
        time.dateTime = now.toISOString();
        item.append(time);
      }
      if (who) {
        item.append(el('span', 'who', say(who) + ':'), ' ');
        const body = el('bdi', 'text', printable(say(text))); // isolated: a right-to-left text cannot flip the line
        item.append(body);
      } else {
        item.append(el('span', 'text', say(text)));
      }
      const m = say(meta);
      if (m) item.append(' ', el('span', 'meta', m));
    };
    render();
    relabels.set(item, render);
    this.#insert(item, before);
    return item;
  }

  /** mark adds a dividing line that says what follows (history, now). */
  mark(text, before = null) {
    const item = el('li', 'divider', say(text));
    if (typeof text === 'function') relabels.set(item, () => (item.textContent = text()));
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
      item.append(el('span', 'member-id', id), ' ', el('span', 'badge', t('member.you')));
    } else {
      const pick = el('button', 'member-id', id);
      pick.type = 'button';
      pick.setAttribute('aria-label', t('member.pick', { id }));
      pick.addEventListener('click', () => onPick(id));
      item.append(pick);
      options.append(new Option(id));
    }
    if (id === host) item.append(' ', el('span', 'badge badge--host', t('member.host')));
    list.append(item);
  }
}

/**
 * note writes under a form: a plain line, or an error with its hint. An
 * action ({label, run}) adds a button that takes the camper to the control
 * the hint names.
 */
export function note(target, text, { error = false, hint = '', action = null } = {}) {
  const render = () => {
    target.replaceChildren();
    target.classList.toggle('form-msg--error', error);
    const said = say(text);
    if (!said) return;
    target.append(el('span', '', said));
    const h = say(hint);
    if (h) target.append(el('span', 'hint', t('hint') + ' ' + h));
    if (action) {
      const go = el('button', 'button--small hint-action', say(action.label));
      go.type = 'button';
      go.addEventListener('click', action.run);
      target.append(go);
    }
  };
  render();
  relabels.set(target, render);
}

/** status shows the connection's state in the header: up, down, connecting or off. */
export function status(target, state, text) {
  target.dataset.state = state;
  const render = () => (target.textContent = say(text));
  render();
  relabels.set(target, render);
}
