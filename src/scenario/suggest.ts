import { closest, distance } from 'fastest-levenshtein';

/** The closest known word to a misspelt one, if it is close enough to be what was meant. */
export function didYouMean(word: string, known: readonly string[]): string | undefined {
  if (known.length === 0) return undefined;
  const lower = word.toLowerCase();
  const exactCase = known.find((k) => k.toLowerCase() === lower);
  if (exactCase) return exactCase;
  // Two swapped neighbours (`wbe` for `web`) are one slip, though Levenshtein counts two.
  const swapped = known.find((k) => k.length === word.length && k.length > 1 && isTransposition(word, k));
  if (swapped) return swapped;
  const best = closest(word, known as string[]);
  const limit = Math.max(1, Math.floor(Math.max(word.length, best.length) / 3));
  return distance(word, best) <= limit ? best : undefined;
}

export function suggestion(word: string, known: readonly string[]): string {
  const best = didYouMean(word, known);
  return best === undefined ? '' : `; did you mean \`${best}\`?`;
}

function isTransposition(a: string, b: string): boolean {
  const diff: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) diff.push(i);
  return diff.length === 2 && diff[1] === diff[0]! + 1 && a[diff[0]!] === b[diff[1]!] && a[diff[1]!] === b[diff[0]!];
}
