// What to do about an error response, pointing at the page's own controls
// ("Start session", "Check out", the token field) rather than at the CLI's
// commands; the words are i18n.js's "hint.*".

import { t } from './i18n.js';

/**
 * hintFor says what to do about the error code in answer to command, whose
 * request had body; '' when the sentence says enough. amHost tells whether
 * the camper hosts the group's session. action, when set, names a control
 * of the page the hint points at ('startSession').
 */
export function hintFor(command, body, code, { amHost = false } = {}) {
  const hint = (key, action = '') => ({ text: t(key), action });
  switch (code) {
    case 'no-session':
      if (command === 'complete') return hint('hint.no-session.complete');
      return hint('hint.no-session', 'startSession');
    case 'limit-reached':
      return hint(amHost ? 'hint.limit-reached.host' : 'hint.limit-reached');
    case 'bad-limit':
    case 'bad-after':
    case 'bad-epoch':
      return hint('hint.bad-history');
    case 'camp-id-in-use':
    case 'not-checked-in':
    case 'already-checked-in':
    case 'session-active':
    case 'not-host':
    case 'not-checked-in-target':
    case 'bad-day':
    case 'bad-max-count':
    case 'no-mission':
    case 'bad-token':
    case 'rate-limited':
    case 'shutting-down':
    case 'too-many-connections':
    case 'unavailable':
    case 'storage-full':
    case 'internal':
      return hint('hint.' + code);
  }
  return { text: '', action: '' };
}
