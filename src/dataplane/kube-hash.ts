// kube-proxy's chain-name hashes (pkg/proxy/iptables/proxier.go: portProtoHash and
// servicePortEndpointChainName): the first 16 characters of base32(sha256(text)), where base32 is
// Go's base32.StdEncoding (RFC 4648 alphabet A-Z 2-7). 16 characters are 80 bits, so padding never shows.
import { sha256 } from '../util/hash.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 with `=` padding, as Go's base32.StdEncoding.EncodeToString. */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const b of bytes) {
    buffer = ((buffer << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  while (out.length % 8 !== 0) out += '=';
  return out;
}

/** The first 16 characters of base32(sha256(text)). */
export function kubeHash16(text: string): string {
  return base32(sha256(text)).slice(0, 16);
}
