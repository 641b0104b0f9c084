// The campId field's check as the camper types. It knows only the form (a
// letter, then digits); the range is the server's (--camp-ids, J001-J384 by
// default) and its bad-camp-id sentence names it. The words are i18n.js's.

import { t } from './i18n.js';

/** The range a server admits unless its operator set another. */
export const DEFAULT_RANGE = 'J001–J384';

/**
 * checkCampId judges what is in the field. It returns the campId to send
 * (upper case), whether it may be sent, whether it is of another form than
 * the default range's, and a sentence for the camper.
 * Empty is not ok but not wrong either: `empty` lets the page stay quiet
 * until the camper has typed something.
 */
export function checkCampId(raw) {
  const typed = raw.trim();
  const value = typed.toUpperCase();
  if (typed === '') {
    return { ok: false, empty: true, unusual: false, value, message: t('campId.empty', { range: DEFAULT_RANGE }) };
  }
  if (/^[A-Z]+[0-9]+$/.test(value)) {
    const digits = value.replace(/^[A-Z]+/, '');
    const unusual = value.replace(/[0-9]+$/, '').length !== 1 || digits.length !== 3;
    let message = unusual
      ? t('campId.unusual', { range: DEFAULT_RANGE })
      : t('campId.ok');
    if (value !== typed) message += ' ' + t('campId.sentAs', { value });
    return { ok: true, empty: false, unusual, value, message };
  }
  const bad = [...typed].find((c) => !/[A-Za-z0-9]/.test(c));
  let message;
  if (bad !== undefined) {
    const shown = /\s/.test(bad) ? t('campId.space') : `“${bad}”`;
    message = t('campId.badChar', { shown });
  } else if (/^[0-9]/.test(typed)) {
    message = t('campId.letterFirst');
  } else if (/^[A-Za-z]+$/.test(typed)) {
    message = t('campId.digitsNext');
  } else {
    message = t('campId.lettersThenDigits');
  }
  return { ok: false, empty: false, unusual: false, value, message };
}
