import { closest, distance } from 'fastest-levenshtein';

/** The closest known word to a misspelt one, if it is close enough to be what was meant. */
export function didYouMean(word: string, known: readonly string[]): string | undefined {
  if (known.length === 0) return undefined;
  const lower = word.toLowerCase();
  const exactCase = known.find((k) => k.toLowerCase() === lower);
  if (exactCase) return exactCase;
  const best = closest(word, known as string[]);
  const limit = Math.max(1, Math.floor(Math.max(word.length, best.length) / 3));
  return distance(word, best) <= limit ? best : undefined;
}

export function suggestion(word: string, known: readonly string[]): string {
  const best = didYouMean(word, known);
  return best === undefined ? '' : `; did you mean \`${best}\`?`;
}
