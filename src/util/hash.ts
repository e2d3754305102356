import { createHash } from 'node:crypto';

export function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** A stable non-negative number from a string, for deterministic allocation. */
export function hashNumber(s: string): number {
  return sha256(s).readUInt32BE(0);
}

/** Short lower-case letters and digits, like the random suffixes Kubernetes adds to names. */
export function shortHash(s: string, length = 5): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789'; // the alphabet of k8s.io/apimachinery's rand.String
  const bytes = sha256(s);
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[bytes[i]! % alphabet.length];
  return out;
}
