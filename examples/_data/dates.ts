/**
 * A synthetic translation task for examples/translation.ts: dates written in English words, in
 * several orders and styles, paired with their ISO form.
 */
const ones = ['', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const tens = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];
const ordinalOnes = ['', 'first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh', 'eighth', 'ninth', 'tenth', 'eleventh', 'twelfth', 'thirteenth', 'fourteenth', 'fifteenth', 'sixteenth', 'seventeenth', 'eighteenth', 'nineteenth'];
const months = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

/** 1…99 in words. */
function cardinal(n: number): string {
  if (n < 20) return ones[n];
  return n % 10 === 0 ? tens[n / 10] : `${tens[Math.floor(n / 10)]} ${ones[n % 10]}`;
}

/** 1…31 as an ordinal: "first", "twenty second", "thirtieth". */
function ordinal(n: number): string {
  if (n < 20) return ordinalOnes[n];
  if (n % 10 === 0) return `${tens[n / 10].slice(0, -1)}ieth`;
  return `${tens[Math.floor(n / 10)]} ${ordinalOnes[n % 10]}`;
}

/** 1950…2029 in words, in one of the ways people say years. */
function yearWords(y: number, pick: () => number): string {
  if (y < 2000) return `nineteen ${cardinal(y - 1900)}`;
  if (y === 2000) return 'two thousand';
  if (y < 2010 || pick() < 0.5) return `two thousand and ${cardinal(y - 2000)}`;
  return `twenty ${cardinal(y - 2000)}`;
}

const daysIn = (y: number, m: number): number => new Date(Date.UTC(y, m, 0)).getUTCDate();

/** A random date (1950–2029) as [sentence in words, ISO date], drawing from `uniform` (values in [0, 1)). */
export function dateSentence(uniform: () => number): [string, string] {
  const y = 1950 + Math.floor(uniform() * 80);
  const m = 1 + Math.floor(uniform() * 12);
  const d = 1 + Math.floor(uniform() * daysIn(y, m));
  const year = yearWords(y, uniform), month = months[m - 1];
  const style = Math.floor(uniform() * 4);
  const text = style === 0 ? `the ${ordinal(d)} of ${month} ${year}`
    : style === 1 ? `${month} the ${ordinal(d)} ${year}`
    : style === 2 ? `${cardinal(d)} ${month} ${year}`
    : `${month} ${cardinal(d)} ${year}`;
  const iso = `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
  return [text, iso];
}

/** Every word the sentences use. */
export const inputWords: readonly string[] = [...new Set([
  ...ones, ...tens, ...ordinalOnes, ...months, 'twentieth', 'thirtieth', 'the', 'of', 'and', 'thousand', 'hundred',
].filter((w) => w !== ''))].sort();
